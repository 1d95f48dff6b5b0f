"""Progress output: plain lines when stderr is not a terminal (CI logs), nothing with --quiet."""

import io

from loadtest.progress import Progress


def test_plain_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    p = Progress(stream=stream, every_s=0.0)
    p.start("m c=4", 3)
    for _ in range(3):
        p.tick()
    p.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[loadtest] m c=4: 3 requests"
    assert "[loadtest] m c=4: 3/3" in lines
    assert lines[-1] == "[loadtest] m c=4: done, 3 requests"


def test_disabled_prints_nothing() -> None:
    stream = io.StringIO()
    p = Progress(enabled=False, stream=stream)
    p.start("m", 2)
    p.tick()
    p.close()
    assert stream.getvalue() == ""
