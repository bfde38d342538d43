"""The end-to-end demo: a synthetic lender's whole lifecycle, then the service (``fengkong demo``).

See :mod:`fengkong.demo.pipeline` for the stages; :mod:`fengkong.demo.policy` for the demo's
credit policy.
"""

from fengkong.demo.pipeline import PEOPLE, STAGES, DemoResult, run_demo

__all__ = ["PEOPLE", "STAGES", "DemoResult", "run_demo"]
