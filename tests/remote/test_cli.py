"""`snail-studio generate --server URL` and `snail-studio models --server URL`."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

from PIL import Image

from studio.cli import EXIT_BAD_INPUT, main
from studio.core.metadata import read_png_request
from tests.remote.conftest import MODEL
from tests.remote.fake_comfy import FakeComfy


def test_generate_on_a_server_writes_a_png_with_both_metadata(fake, tmp_path, capsys):
    out = tmp_path / "made.png"
    args = ["generate", "--server", fake.url, "--model", MODEL, "--prompt", "a snail"]
    code = main(
        [*args, "--steps", "2", "--width", "64", "--height", "64", "--seed", "4", "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip() == str(out)
    request = read_png_request(out)
    assert (request.prompt, request.seed, request.model) == ("a snail", 4, MODEL)
    assert '"KSampler"' in Image.open(out).info["prompt"]
    assert fake.prompts[0]["prompt"]["3"]["inputs"]["steps"] == 2


def test_models_on_a_server(fake, capsys):
    assert main(["models", "--server", fake.url]) == 0
    listing = capsys.readouterr().out
    assert MODEL in listing and "flux1-dev.safetensors" in listing


def test_an_unreachable_server_is_one_line_and_exit_2(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["models", "--server", f"127.0.0.1:{port}"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith(f"snail-studio: error: 127.0.0.1:{port}: cannot connect")
    assert err.count("\n") == 1


def test_a_sweep_on_two_servers_runs_its_cells_on_both_at_once(fake, tmp_path, capsys):
    second = FakeComfy().start()
    try:
        for server in (fake, second):
            server.scenario.hold_at_step = 1  # each holds its first cell until both have one

        both_held = threading.Event()

        def release_when_both_hold() -> None:
            deadline = time.monotonic() + 10
            while not (fake.prompts and second.prompts) and time.monotonic() < deadline:
                time.sleep(0.01)
            if fake.prompts and second.prompts:
                both_held.set()
            for server in (fake, second):
                server.scenario.release.set()

        releaser = threading.Thread(target=release_when_both_hold, daemon=True)
        releaser.start()
        out = tmp_path / "grid.png"
        servers = ["--server", fake.url, "--server", second.url]
        args = ["sweep", *servers, "--model", MODEL, "--prompt", "a snail", "--steps", "2"]
        code = main(
            [*args, "--width", "64", "--height", "64", "--seed", "1,2,3,4", "--out", str(out)]
        )
        assert code == 0, capsys.readouterr().err
        releaser.join(5)
        assert len(fake.prompts) + len(second.prompts) == 4
        assert both_held.is_set()  # one cell held on each server at the same time
        seeds = sorted(
            body["prompt"]["3"]["inputs"]["seed"] for body in fake.prompts + second.prompts
        )
        assert seeds == [1, 2, 3, 4]
        with Image.open(out) as grid:
            assert grid.width >= 4 * 64
    finally:
        second.stop()


def test_seeing_the_diffusion_is_refused_on_a_server_in_one_line(fake, tmp_path, capsys):
    args = ["generate", "--server", fake.url, "--model", MODEL, "--prompt", "a snail"]
    assert main([*args, "--attention", str(tmp_path / "maps")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "--attention needs this machine's engine" in err and err.count("\n") == 1
    assert fake.prompts == []


def test_generating_on_a_server_imports_no_torch(fake, tmp_path):
    out = str(tmp_path / "a.png")
    code = (
        "import sys; from studio.cli import main; "
        f"args = ['generate', '--server', {fake.url!r}, '--model', {MODEL!r}, '--prompt', 'x', "
        f"'--steps', '1', '--width', '64', '--height', '64', '--out', {out!r}]; "
        "assert main(args) == 0; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
