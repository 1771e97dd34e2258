"""``python -m harness.stack.containers {bench,reap,images}``: measure, clean up, build."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import time

from harness.stack import images as image_tools
from harness.stack.containers.runs import reap_orphans
from harness.stack.containers.stack import ContainersStack
from harness.stack.definition import load_definition


def _remove_images(engine: image_tools.Engine) -> list[str]:
    removed = image_tools.prune_images(engine, keep=set())
    with contextlib.suppress(Exception):
        engine.client.images.prune(filters={"dangling": True})
    shutil.rmtree(image_tools.CACHE_DIR / "wheels", ignore_errors=True)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.stack.containers")
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="measure `up` (and `down`) of the containers stack")
    bench.add_argument("--profile", default="reference-containers")
    bench.add_argument(
        "--cold",
        action="store_true",
        help="remove the stack's images and wheel cache first (base image stays)",
    )
    bench.add_argument("--warm-runs", type=int, default=1, help="warm runs after the first")
    reap = sub.add_parser("reap", help="remove containers of runs whose owner died")
    reap.add_argument("--all", action="store_true", help="also detached runs")
    images = sub.add_parser(
        "images", help="build (or find) the stack's images and print their tags"
    )
    images.add_argument("--stack", default="bundled", help="stack definition (its image_packages)")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.command == "reap":
        for run_id in reap_orphans(include_detached=args.all):
            print(f"reaped run {run_id}")
        return 0
    engine = image_tools.connect()
    if args.command == "images":
        packages = tuple(load_definition(args.stack).image_packages)
        for image, built in image_tools.ensure_images(engine, packages=packages).items():
            print(
                f"{image:<9} {built.tag} {'built' if built.built else 'cached'} "
                f"{built.seconds:.1f} s"
            )
        return 0
    from harness.profile import load_profile

    profile = load_profile(args.profile)
    if args.cold:
        removed = _remove_images(engine)
        say(f"bench: removed {len(removed)} image(s) and the wheel cache")
    for run in range(1 + max(0, args.warm_runs)):
        stack = ContainersStack.create(profile, progress=say)
        began = time.monotonic()
        stack.up()
        up_s = time.monotonic() - began
        kind = "cold" if stack.state.extra.get("images_built") else "warm"
        began = time.monotonic()
        stack.down()
        down_s = time.monotonic() - began
        print(
            f"run {run + 1}: {kind} up {up_s:.1f} s (images {stack.timings.get('images', 0.0):.1f}"
            f" s, containers {stack.timings.get('containers', 0.0):.1f} s), down {down_s:.1f} s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
