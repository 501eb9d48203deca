"""The lab's command line (`tools/lab`, `python -m labs`): the containers' lab (labs.lab) and
the Vagrant lab's container route (labs.vagrant), which builds on it."""

from __future__ import annotations

import argparse
import ipaddress
import json
import shutil
import sys
from pathlib import Path

from labs import lab as lab_module
from labs import vagrant as lab_vagrant
from labs.lab import (
    DISTROS,
    REPO,
    Lab,
    LabError,
    build_image,
    build_mirror,
    cmd_replace,
    cmd_status,
    cmd_up,
    default_subnet,
    find_moved,
    log,
    remove_lab,
    require_tools,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tools/lab", description=(lab_module.__doc__ or "").partition("\n\n")[0])
    parser.add_argument("--name", default="lab", help="lab name; decides network and mirror names")
    parser.add_argument("--subnet", help="IPv4 /24 owned by this lab (lab: 10.213.10.0/24)")
    parser.add_argument("--hosts", type=int, default=3, help="number of hosts zookeeper01..NN")
    parser.add_argument("--distro", default="bullseye", choices=sorted(DISTROS),
                        help="Debian release of the hosts")
    parser.add_argument("--prefix", default=None,
                        help="container name prefix (default: none for `lab`, NAME- otherwise)")
    parser.add_argument("--java", action="store_true",
                        help="hosts start with the distribution's OpenJDK already installed")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="build what is missing and start the lab")
    up.add_argument("--inventory", type=Path,
                    help="write an Ansible inventory here (default for `lab`: inventories/lab)")
    up.add_argument("--json", action="store_true", help="print the lab description as JSON")
    replace = sub.add_parser(
        "replace", help="replace a member by a new, empty host with the same name at ADDRESS")
    replace.add_argument("member", help="the member to replace, e.g. zookeeper01")
    replace.add_argument("--address", required=True, help="the new host's address in the subnet")
    down = sub.add_parser("down",
                          help="remove the lab's containers and network (images stay cached)")
    down.add_argument("--inventory-dir", type=Path,
                      help="also remove the mirror variables `prepare` wrote there")
    prepare = sub.add_parser(
        "prepare", help="for the Vagrant lab's docker provider: its image, the mirror, the "
        "network and the Podman API, without hosts (Vagrant creates them)")
    prepare.add_argument("--inventory-dir", type=Path,
                         help="write the mirror's variables there (lab-mirror.yml)")
    sub.add_parser("podman-api",
                   help="start the Podman API Vagrant's docker provider talks to, unless it runs")
    sub.add_parser("key", help="make the Vagrant lab's SSH key pair unless it exists; print it")
    sub.add_parser("status", help="show containers, addresses and SSH reachability")
    sub.add_parser("mirror", help="only build the offline mirror's tarballs (3.4.13, 3.8.0)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        subnet = ipaddress.IPv4Network(args.subnet or default_subnet(args.name))
        if subnet.prefixlen > 24:
            raise LabError(f"--subnet {subnet} is too small: use a /24")
        prefix = args.prefix if args.prefix is not None else (
            "" if args.name == "lab" else f"{args.name}-")
        lab = Lab(args.name, subnet, args.hosts, args.distro, prefix, args.java)
        if args.command in {"up", "status"} and shutil.which("podman"):
            find_moved(lab)
        if args.command == "up":
            inventory = args.inventory
            if inventory is None and args.name == "lab":
                inventory = REPO / "inventories" / "lab" / "hosts.yml"
            description = cmd_up(lab, inventory)
            if args.json:
                print(json.dumps(description, indent=2))
            return 0
        if args.command == "replace":
            print(json.dumps(cmd_replace(lab, args.member, args.address), indent=2))
            return 0
        if args.command in {"prepare", "podman-api", "key"} or (
                args.command == "down" and args.inventory_dir):
            if args.command == "prepare":
                lab_vagrant.cmd_prepare(lab, args.inventory_dir)
                return 0
            if args.command == "podman-api":
                print(f"unix://{lab_vagrant.ensure_api()}")
                return 0
            if args.command == "key":
                print(lab_vagrant.lab_key(lab))
                return 0
            lab_vagrant.remove_mirror_vars(args.inventory_dir)
        if args.command == "down":
            require_tools(["podman"])
            remove_lab(lab)
            log(f"removed lab {lab.name}")
            return 0
        if args.command == "mirror":
            require_tools(["podman", "runc", "debootstrap", "gpg"])
            build_image(lab)
            for tarball in build_mirror(lab).values():
                print(tarball)
            return 0
        return cmd_status(lab)
    except (LabError, ValueError) as err:
        print(f"lab: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
