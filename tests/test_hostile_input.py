"""Hostile input: each case of issue 14 exits 0, 2 or 3 with one clear line, and so do 240 generated configs.

In-process through ``main()`` (an exception would fail the test just as a traceback would).
Configs that pass validation train on tiny data: the generator's valid values for the sizes
(digits, epochs, layers) are all small, and it fills in small ones for keys it did not draw.
"""

from __future__ import annotations

import collections
import random
from pathlib import Path

import pytest

from mnist_tui.command import main
from mnist_tui.engine.config import FIELDS

TINY = 'train_limit = 100\neval_limit = 50\nepochs = 1\ndevice = "cpu"\nhidden = [8]\n'


def run_config(content: str | bytes, name: str, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    code = main(["--no-ui", "--config", str(path), *extra, "--data-dir", str(data_dir), "--runs-dir", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err


CASES = {
    "lr with 400 zeros": ("lr = 1" + "0" * 400, 2, "lr = 100000000000000000...0000000000000000000 is too large for a number"),
    "diverge_above with 400 zeros": ("diverge_above = 1" + "0" * 400, 2, "diverge_above = 1000"),
    "weight_decay with 400 zeros": ("weight_decay = 1" + "0" * 400, 2, "is too large for a number"),
    "momentum with 400 zeros": ("momentum = 1" + "0" * 400, 2, "is too large for a number"),
    "an integer of 5,000 digits": ("seed = " + "7" * 5000, 2, "a number has too many digits"),
    "nesting 5,000 deep": ("hidden = " + "[" * 5000 + "]" * 5000, 2, "nested too deeply"),
    "nesting 10 deep": ("hidden = " + "[" * 10 + "8" + "]" * 10, 2, "hidden is nested too deeply"),
    "a device index of 20 digits": ('device = "cuda:99999999999999999999"', 2, "device must be auto, cpu, cuda, cuda:N or mps, not 'cuda:99999999999999999999'"),
    "a device with a newline": ('device = "cpu\\n"', 2, "device must be auto, cpu, cuda, cuda:N or mps, not 'cpu\\n'"),
    "two layers of 65,536": ("hidden = [65536, 65536]", 2, "hidden = [65536, 65536] with adam needs about "),
    "65 layers": ("hidden = [" + ", ".join(["8"] * 65) + "]", 2, "hidden must list at most 64 layer sizes, not 65"),
    "batch norm with a last batch of one": ("batch_norm = true\nbatch_size = 511\ntrain_limit = 512\neval_limit = 50\nepochs = 1\nhidden = [8]", 2, "batch norm cannot train on a batch of one digit"),
    "adadelta at lr 1e300": ('optimizer = "adadelta"\nlr = 1e300\n' + TINY, 3, ""),
    "a holdout of 0 digits": ('eval_split = "holdout"\nholdout_fraction = 1e-9\n' + TINY, 2, "the evaluation set is empty"),
    "bytes that are not UTF-8": (b"lr = 0.1 \xff\xfe\n", 2, "cannot be read"),
    "a table": ("[model]\nhidden = [8]", 2, "tables such as [model] are not used"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_hostile_case_of_the_issue(case: str, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content, expected_code, expected = CASES[case]
    code, err = run_config(content, "case.toml", tmp_path, data_dir, capsys)
    assert code == expected_code, err
    if expected_code == 2:
        assert err.startswith("mnist-tui: error: ") and err.count("\n") == 1, err
        assert expected in err
        assert len(err) < 600, "short, however long the value"


@pytest.mark.parametrize(
    ("name", "content", "run_name"),
    [("ünï.toml", TINY, "uni"), ("bom.toml", "\ufeff" + TINY, "bom"), ("my config.toml", TINY, "my-config")],
)
def test_unicode_names_and_a_byte_order_mark_are_accepted(
    name: str, content: str, run_name: str, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_config(content, name, tmp_path, data_dir, capsys)
    assert code == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith(f"{run_name}-")


# --- the fuzz test --------------------------------------------------------------------------------

HOSTILE = [
    "1" + "0" * 400, "9" * 4400, "1e400", "-1e400", "nan", "inf", "-inf", "-0.0", "0", "-1", "true", "false",
    '"x"', '"\\u00fc\\u00f1"', '"cpu\\n"', "[]", "[[1]]", "[" * 30 + "]" * 30, "[" * 3000 + "]" * 3000,
    "{a = 1}", '"' + "A" * 5000 + '"', "1.5", "2**63", "0x10", "1_000", "1979-05-27", "12:00:00", "'''x'''",
    "9223372036854775808", "-9223372036854775809", "1e-320",
]
"""Values any field may draw: wrong types, huge or deep values, odd TOML (most are refused)."""
VALID = {
    "name": ['"fuzz"', '"a.b_c-1"', '""', '"' + "n" * 65 + '"', '"ünï"'],
    "dataset": ['"mnist"', '"MNIST"', '"fashion"'],
    "eval_split": ['"test"', '"holdout"', '"pooled"', '"train"'],
    "holdout_fraction": ["0.2", "0.5", "1e-9", "0.999", "1.0"],
    "split_shuffle": ['"torch"', '"sklearn"', '"numpy"'],
    "split_seed": ["0", "4294967296", "3"],
    "train_limit": ["1", "64", "200", "10000001"],
    "eval_limit": ["1", "50", "10000001"],
    "hidden": ["[8]", "[3, 2]", "[0]", "[65537]", "[" + ", ".join(["65536"] * 8) + "]", '"8,4"', "[1.5]", "[" + "4, " * 70 + "4]"],
    "activation": [f'"{a}"' for a in ("relu", "sigmoid", "tanh", "gelu", "leaky_relu", "elu", "silu", "swish")],
    "batch_norm": ["true", "false"],
    "dropout": ["0.0", "0.5", "1.0"],
    "init": ['"default"', '"kaiming_normal"', '"lecun"', '"xavier_uniform"', '"he"'],
    "optimizer": [f'"{o}"' for o in ("sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "radam", "lbfgs")],
    "lr": ["0.001", "0.1", "1e300", "1e38", "1e39", "0"],
    "momentum": ["0.0", "0.9", "1.0"],
    "nesterov": ["true", "false"],
    "weight_decay": ["0.0", "0.01", "1e308"],
    "schedule": ['"constant"', '"step"', '"cosine"', '"linear"'],
    "step_epochs": ["1", "5"],
    "gamma": ["0.1", "1.0", "0.0"],
    "batch_size": ["1", "7", "64", "511", "1000001"],
    "drop_last": ["true", "false"],
    "epochs": ["1", "2", "100001"],
    "seed": ["0", "1", "9223372036854775807"],
    "device": ['"cpu"', '"cuda"', '"cuda:99999999999999999999"', '"cpu\\n"', '"mps"', '"gpu"', '"auto"'],
    "cuda_graphs": ["true", "false"],
    "diverge_above": ["1000.0", "0.5", "1e308"],
    "report_every": ["1", "5", "1000001"],
    "gallery_size": ["0", "10", "101"],
    "inspect": ["true", "false"],
    "mistakes_per_cell": ["0", "3", "101"],
    "weight_units": ["0", "8", "65537"],
}
"""Each field's own values, valid and invalid; the valid sizes are all small, so what passes trains in moments."""
SIZES = ("train_limit", "eval_limit", "epochs", "hidden", "batch_size", "device", "report_every", "dataset")
"""Fields that only draw from their own values: a hostile value that happened to be valid could make a long run."""
SMALL = {"train_limit": "100", "eval_limit": "50", "epochs": "1", "hidden": "[8]", "device": '"cpu"'}
FILE_NAMES = ["cfg.toml", "ünï.toml", "my config.toml", "x" * 100 + ".toml", "z\u200bw.toml"]
CASES_GENERATED = 240


def generated_config(seed: int) -> tuple[str, bytes]:
    """A file name and content, drawn from ``seed``."""
    draw = random.Random(seed)
    lines: list[str] = []
    keys = draw.sample(sorted(FIELDS), draw.randint(1, 6))
    for key in keys:
        pool = VALID.get(key, HOSTILE) if key in SIZES or draw.random() < 0.5 else HOSTILE
        lines.append(f"{key} = {draw.choice(pool)}")
    if draw.random() < 0.1:
        lines.append(f"{draw.choice(['learning_rate', 'hiden', 'ünknown'])} = 1")
    for key, value in SMALL.items():
        if key not in keys:
            lines.append(f"{key} = {value}")
    draw.shuffle(lines)
    text = "\n".join(lines) + "\n"
    shape = draw.random()
    if shape < 0.05:
        text = "\ufeff" + text
    elif shape < 0.10:
        text += "this is not toml\n"
    elif shape < 0.13:
        text = "[section]\n" + text
    data = text.encode("utf-8")
    if draw.random() < 0.03:
        data += b"\xff"
    return draw.choice(FILE_NAMES), data


def test_generated_configs_exit_0_2_or_3_with_one_line_and_no_traceback(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codes: collections.Counter[int] = collections.Counter()
    for seed in range(CASES_GENERATED):
        name, content = generated_config(seed)
        code, err = run_config(content, name, tmp_path, data_dir, capsys)
        codes[code] += 1
        assert code in (0, 2, 3), f"seed {seed}: exit {code}\n{content[:500]!r}\n{err}"
        if code == 2:
            assert err.startswith("mnist-tui: error: ") and err.count("\n") == 1, f"seed {seed}: {err}"
            assert len(err) < 1000, f"seed {seed}: {len(err)} characters"
    with capsys.disabled():
        print(f"\n{CASES_GENERATED} generated configs: exit codes {dict(sorted(codes.items()))}")
    assert codes[0] >= 10 and codes[2] >= 100, "the generator reaches both training and refusals"
