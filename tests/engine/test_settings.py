import pytest

from zoo.core.errors import UsageError
from zoo.engine.settings import build_config, parse_sets

RECIPE = {"epochs": 5, "batch_size": 32, "lr": 0.01, "hidden": 32, "label_smoothing": 0.0}
LIMITS = {"hidden": "[1, 4096]", "label_smoothing": "[0, 1]"}


def test_precedence_and_types():
    cfg = build_config(RECIPE, {"epochs": 7, "lr": None}, {"lr": "0.5", "hidden": "64", "nesterov": "true"})
    assert (cfg.epochs, cfg.lr, cfg.batch_size, cfg.nesterov) == (7, 0.5, 32, True)
    assert cfg.options == {"hidden": 64, "label_smoothing": 0.0}
    assert build_config(RECIPE, {}, {"label_smoothing": "0.1"}).options["label_smoothing"] == 0.1


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(UsageError, match=r"unknown setting 'hiden'. Did you mean 'hidden'\? Valid settings: .*lr"):
        build_config(RECIPE, {}, {"hiden": "3"})


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"lr": "fast"}, "--set lr=fast: expected float"),
        ({"epochs": "2.5"}, "--set epochs=2.5: expected int"),
        ({"nesterov": "maybe"}, "--set nesterov=maybe: expected bool"),
        ({"hidden": "wide"}, "--set hidden=wide: expected int"),
        ({"epochs": "0"}, r"--epochs must be an integer in \[1, 1000000\], got 0"),
        ({"lr": "-0.1"}, "--lr must be a finite number > 0, got -0.1"),
        ({"lr": "inf"}, "--lr must be a finite number > 0, got inf"),
        ({"lr": "nan"}, "--lr must be a finite number > 0, got nan"),
        ({"weight_decay": "inf"}, "weight_decay must be a finite number >= 0, got inf"),
        ({"warmup_epochs": "inf"}, "warmup_epochs must be a finite number in"),
        ({"seed": str(2**70)}, r"--seed must be an integer in \[0, 4294967295\], got 1180591620717411303424"),
        ({"seed": "-1"}, "--seed must be an integer in"),
        ({"batch_size": "0"}, "--batch-size must be an integer in"),
        ({"grad_accum": "0"}, "grad_accum must be an integer in"),
        ({"ema_decay": "1.0"}, r"ema_decay must be a finite number in \[0, 1\)"),
        ({"momentum": "1.5"}, r"momentum must be a finite number in \[0, 1\)"),
        ({"optimizer": "sgd", "nesterov": "true", "momentum": "0"}, "nesterov=true needs momentum > 0"),
        ({"label_smoothing": "5"}, r"label_smoothing must be a finite number in \[0, 1\], got 5.0"),
        ({"hidden": "0"}, r"hidden must be an integer in \[1, 4096\], got 0"),
        ({"checkpoint_every": "-1"}, "--checkpoint-every must be an integer >= 0"),
        ({"optimizer": "lion"}, "optimizer must be one of sgd, adamw, adam"),
        ({"device": "tpu"}, "device must be one of auto, cpu, cuda, mps"),
        ({"precision": "int8"}, "precision must be one of"),
        ({"stage_ratios": "0.5,0.5"}, "stage_ratios must be 3 shares summing to 1"),
        ({"stage_ratios": "0.1,0.4,0.6"}, "stage_ratios must be 3 shares summing to 1"),
        ({"stage_ratios": "a,b,c"}, "stage_ratios must be 3 shares"),
    ],
)
def test_impossible_values_are_refused(sets, message):
    with pytest.raises(UsageError, match=message):
        build_config(RECIPE, {}, sets, LIMITS)


def test_python_callers_get_the_same_checks():
    with pytest.raises(UsageError, match="--lr must be a finite number > 0, got inf"):
        build_config(RECIPE, {"lr": float("inf")}, {}, LIMITS)
    with pytest.raises(UsageError, match=r"setting 'hidden' expects int, got 2\.5"):
        build_config(RECIPE, {}, {"hidden": 2.5}, LIMITS)
    with pytest.raises(UsageError, match="setting 'epochs' expects int, got True"):
        build_config(RECIPE, {"epochs": True}, {}, LIMITS)
    assert build_config(RECIPE, {"lr": 1}, {}, LIMITS).lr == 1.0


def test_parse_sets():
    assert parse_sets(["a=1", " b = x=y "]) == {"a": "1", "b": "x=y"}
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_sets(["novalue"])


def test_tri_stage_warms_up_holds_then_decays():
    from zoo.plugin.recipe import tri_stage

    factor = tri_stage(100, "0.1,0.4,0.5")
    assert factor(0) == 0.01  # fairseq's init_lr_scale
    assert factor(5) == pytest.approx(0.01 + 0.99 * 0.5)
    assert factor(10) == factor(49) == 1.0
    assert factor(75) == pytest.approx(0.05**0.5)  # halfway through the exponential decay
    assert factor(100) == pytest.approx(0.05) == factor(500)  # final_lr_scale, and it stays there
