"""The README's Python examples run as written, and the values their comments promise are the values they give."""

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
# A comment that promises a value: a literal (`# ['resnet18', ...]`, `# 11689512, counted...`) or a prefix (`# 0.9...`).
PROMISE = re.compile(r"#\s*(?P<literal>\[[^\]]*\]|-?\d+(?:\.\d+)?)(?P<prefix>\.\.\.)?")


def blocks() -> list[str]:
    return BLOCK.findall(README.read_text("utf-8"))


def checked(block: str) -> str:
    """The block as a script: each expression whose comment promises a value asserts that value."""
    out = []
    for line in block.splitlines():
        code, _, comment = line.partition("  #")
        promise = PROMISE.match("#" + comment) if comment else None
        if promise and not code.lstrip().startswith(("import", "from")) and "=" not in code.split("(")[0]:
            expected = promise["literal"]
            if promise["prefix"]:
                out.append(f"assert repr({code.strip()}).startswith({expected!r}), {code.strip()!r}")
            else:
                out.append(f"assert ({code.strip()}) == {ast.literal_eval(expected)!r}, ({code.strip()!r}, {code})")
        else:
            out.append(line)
    return "\n".join(out)


def test_the_checker_turns_promises_into_assertions():
    script = checked('zoo.list_models()   # ["a", "b"]\nzoo.x()["n"]   # 3, counted\nv = f()   # 7\ny   # 0.9...\n')
    assert "assert (zoo.list_models()) == ['a', 'b']" in script
    assert 'assert (zoo.x()["n"]) == 3' in script
    assert "v = f()   # 7" in script  # an assignment is run, not asserted
    assert "assert repr(y).startswith('0.9')" in script


@pytest.mark.slow
@pytest.mark.usefixtures("timm_resnet18")
def test_readme_python_examples(zoo_env, olah, tmp_path):
    all_blocks = blocks()
    assert len(all_blocks) >= 3 and sum(bool(PROMISE.search(b)) for b in all_blocks) >= 2
    hub = tmp_path / "zoo-hub"
    # What the examples take as given: a run folder `zoo train` wrote and a digit image, as in `make demo`.
    setup = textwrap.dedent(
        """
        import zoo
        from PIL import Image
        from zoo_images.digits import load

        zoo.train("cnn", dataset="digits", epochs=1, out="runs/cnn", quiet=True)
        image = load(size=32).val.tensors[0][0]
        Image.fromarray(image.permute(1, 2, 0).numpy()).save("digit.png")
        """
    )
    script = setup + "\n".join(checked(b) for b in all_blocks).replace("/srv/zoo-hub", str(hub))
    (tmp_path / "readme.py").write_text(script)
    # The promised values (accuracy 0.9..., a bitwise reproduction) are the CPU defaults': no GPU for the script.
    env = dict(zoo_env, HF_ENDPOINT=olah, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, "readme.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (hub / "models" / "me" / "cnn-digits").is_dir()  # the publish example really published
