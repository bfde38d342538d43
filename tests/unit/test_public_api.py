import fengkong
import fengkong.synth


def test_top_level_public_api_is_pinned():
    assert sorted(fengkong.__all__) == [
        "ConfigError",
        "FengkongError",
        "InvalidArgumentError",
        "Money",
        "NotFittedError",
        "NotFoundError",
        "OutputError",
        "Problem",
        "Settings",
        "__version__",
    ]
    for name in fengkong.__all__:
        assert hasattr(fengkong, name)


def test_synth_public_api_is_pinned():
    assert sorted(fengkong.synth.__all__) == [
        "SynthParams",
        "SyntheticBook",
        "TABLES",
        "default_params_text",
        "generate",
        "iter_chunks",
        "load_params",
        "read_book",
        "write_book",
    ]
