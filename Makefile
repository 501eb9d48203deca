# ZooKeeper 3.4 ensembles with Ansible. `make lab` builds a local three-node ensemble,
# `make test` runs every test the project has.
SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# The dev tooling's packages by name (tools/: labs, bench, ci, testkit, and zk_status). Not the
# checkout's .collections: Ansible would find the collection on sys.path in every run, the
# collection test's "installed, used from outside" included.
export PYTHONPATH := $(CURDIR)/tools$(if $(PYTHONPATH),:$(PYTHONPATH))
SYSTEM_PACKAGES := podman runc debootstrap openssh-client iproute2 gnupg gpgv
# ansible-test sanity's shellcheck test needs the program (without it the test is skipped).
SANITY_PACKAGES := shellcheck
# Vagrant and its libvirt provider, without the libvirt daemon, QEMU and kernel they recommend
# (the container route needs none of them; vagrant-libvirt lets `vagrant validate` check the
# libvirt settings).
VAGRANT_PACKAGES := vagrant vagrant-libvirt
# Longest first: tools/ci/molecule-scenarios runs at most ZK_MOLECULE_JOBS (3) at once, in this order.
# vagrant (short) before the last four, so that no scenario runs long alone at the pool's end.
SCENARIOS ?= membership default nemesis restore hardening release38 vagrant reconfig38 ensembles \
	ubuntu package
# Scenarios run after those, each alone, so that their write gaps (held to absolute limits)
# are not those of a loaded machine. (Side by side, upgrade once saw a moment with one of its
# three servers serving: its limit is two.)
ALONE_SCENARIOS ?= operations upgrade

# Seconds of faults in `make soak` (the nemesis scenario; `make test` runs it for 120 s).
SOAK_SECONDS ?= 600

# The ansible-core versions `make core-matrix` deploys with (empty: tools/ci/core_matrix.py's
# default, 2.16 2.17 2.18 2.19), and further options of tools/ci/core_matrix.py (--java: hosts
# with Java in their image).
CORE_VERSIONS ?=
CORE_ARGS ?=

# The Vagrant lab's container route (the Vagrantfile reads its machines from
# inventories/vagrant/hosts.yml; name and network as there).
VAGRANT_LAB := --name=vagrant --subnet=192.168.56.0/24

.PHONY: help venv system-deps lab lab-down lab-status vagrant-lab vagrant-lab-down lint unit \
	molecule molecule-pool molecule-alone lab-images core-oldest test bench bench-fleet core-matrix clean \
	vagrant-deps collection changelog collection-test sanity sanity-deps soak

help:
	@echo "make lab        build the local lab and deploy a 3-node ensemble to it"
	@echo "make lab-down   remove the lab's containers and network"
	@echo "make vagrant-lab       the seed guides' Vagrant lab (zookeeper01-03 at 192.168.56.112-114)"
	@echo "                       by Vagrant's docker provider on Podman, deployed by its provisioner"
	@echo "make vagrant-lab-down  destroy it"
	@echo "make test       lint, unit tests, the Molecule scenarios ($(SCENARIOS) $(ALONE_SCENARIOS)),"
	@echo "                the collection used from outside (collection-test) and the ansible-core matrix"
	@echo "make soak       the nemesis scenario for SOAK_SECONDS (600) of kills, pauses and partitions"
	@echo "                under a linearizability check (ZK_SOAK_SEED=N replays a run's faults)"
	@echo "make bench      time converge, re-run, config change, leader failover and memory on the"
	@echo "                lab bench (10.213.16.0/24); BENCH_ARGS=\"--repeat 1 --keep --results DIR\""
	@echo "make bench-fleet  the same lab at fleet size: 30 hosts as 10 ensembles of 3, against floors"
	@echo "                on the same hosts (not in make test); BENCH_ARGS=\"--repeat 2\""
	@echo "make core-matrix  site.yml (fresh converge, then a no-op run) with each supported"
	@echo "                ansible-core (.venv-core/VERSION) on the lab core (10.213.22.0/24);"
	@echo "                CORE_VERSIONS=\"2.16 2.19\"; results/core-matrix.json"
	@echo "make collection       build the collection zkops.zookeeper34 (ansible-galaxy collection build) into build/"
	@echo "make changelog        CHANGELOG.md from changelogs/ (antsibull-changelog)"
	@echo "make collection-test  build, install it offline, deploy a lab (coll, 10.213.21.0/24)"
	@echo "                      with it from outside the repository (4-5 minutes)"
	@echo "make sanity           every ansible-test sanity test on the checkout (tools/ci/sanity.py)"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Installs what is missing (as root), or says what to install.
define install-missing
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing system packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) \
			$$missing >/dev/null; \
	else \
		echo "missing system packages: $$missing"; \
		echo "install them with: sudo apt-get install $(2) $$missing (the labs also need root for Podman)"; \
		exit 1; \
	fi
endef

system-deps:
	$(call install-missing,$(SYSTEM_PACKAGES))

# Vagrant's docker provider runs the `docker` client (against Podman's API): most machines here
# have one, else Debian's docker.io brings it.
vagrant-deps:
	$(call install-missing,$(VAGRANT_PACKAGES),--no-install-recommends)
	$(call install-missing,$(if $(shell command -v docker),,docker.io),--no-install-recommends)

lab: system-deps venv
	tools/lab up
	ansible-playbook -i inventories/lab playbooks/site.yml
	tools/zk-status -i inventories/lab

lab-down:
	tools/lab down

lab-status:
	tools/lab status
	tools/zk-status -i inventories/lab

# `vagrant up` provisions new machines; --provision converges machines that already run.
vagrant-lab: system-deps vagrant-deps venv
	vagrant up --provider=docker --provision
	tools/zk-status -i inventories/vagrant

vagrant-lab-down:
	if command -v vagrant >/dev/null; then VAGRANT_DEFAULT_PROVIDER=docker vagrant destroy --force; fi
	tools/lab $(VAGRANT_LAB) down --inventory-dir=inventories/vagrant

# The role's modules and module_utils run on the hosts' Python: 3.6 and later. vermin fails on
# anything newer (annotations are evaluated there: no `from __future__ import annotations`).
VERMIN := vermin --no-tips --violations --eval-annotations --feature union-types -t=3.6-

lint: venv
	yamllint --strict .
	python -m ci.role_docs --check
	ansible-lint
	ruff check .
	$(VERMIN) plugins/modules plugins/module_utils

unit: venv
	pytest -q -n auto tools roles tests

molecule: molecule-pool molecule-alone

molecule-pool: lab-images vagrant-deps
	tools/ci/molecule-scenarios $(SCENARIOS)

molecule-alone: lab-images vagrant-deps
	for s in $(ALONE_SCENARIOS); do tools/ci/molecule-scenarios $$s || exit 1; done

# The hosts' images and the offline mirror, built once before anything races for them.
lab-images: system-deps venv
	tools/ci/molecule-scenarios --prepare

# site.yml with the oldest supported ansible-core (every scenario runs the pinned 2.19).
# The oldest ansible-core in `make test`, on hosts with Java in their image (the role's Java
# install runs in the `default`, `restore` and `vagrant` scenarios; `make core-matrix` runs it too).
core-oldest: lab-images
	$(MAKE) --no-print-directory core-matrix CORE_VERSIONS=2.16 CORE_ARGS=--java

# On two cores: the system packages first (one apt at a time); then lint and sanity beside the
# hosts' images (on a new machine, debootstrap mostly waits on Debian's mirror and the disk), the
# unit tests on both cores; then the scenario pool with the collection test and the oldest
# ansible-core beside it (labs of their own, no timing limits); last the scenarios that hold
# write gaps to absolute limits, alone. A failure anywhere fails the run.
test: system-deps vagrant-deps sanity-deps
	$(MAKE) --no-print-directory -j3 lab-images lint sanity
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory -j3 molecule-pool collection-test core-oldest
	$(MAKE) --no-print-directory molecule-alone

# The nemesis scenario for longer than `make test`'s 120 s (molecule/resources/tests/
# test_nemesis.py; log results/molecule/nemesis.log, history and faults results/nemesis/).
soak: system-deps venv
	ZK_SOAK_SECONDS=$(SOAK_SECONDS) tools/ci/molecule-scenarios nemesis

# The collection the repository is, built as it is (galaxy.yml's build_ignore leaves out the
# labs and dev tooling): build/zkops-zookeeper34-<version>.tar.gz.
collection: venv
	ansible-galaxy collection build --force --output-path build

# CHANGELOG.md from changelogs/ (antsibull-changelog): a change is a fragment in
# changelogs/fragments/; `antsibull-changelog release` folds them into a release.
changelog: venv
	antsibull-changelog generate

# Every ansible-test sanity test on the checkout (a copy of its files, since ansible-test wants
# to run in .../ansible_collections/zkops/zookeeper34), each in the environment ansible-test makes
# with the versions it pins (tools/ci/sanity.py gives it the pip bootstrap it cannot download), the
# ignores in tests/sanity/; a test that fails, or does not run for want of something, fails it.
sanity: venv sanity-deps
	python -m ci.sanity

sanity-deps:
	$(call install-missing,$(SANITY_PACKAGES),--no-install-recommends)

# The built collection installed offline and used from outside the repository: ansible-doc, the
# roles on the controller, then a lab deployed through the fully qualified roles (removed after).
collection-test: system-deps venv
	ZK_COLLECTION_LAB=1 pytest -q -rA tools/ci/test_collection.py

# Figures against the targets, with median/min/max over the repetitions; results/bench/.
bench: system-deps venv
	python -m bench $(BENCH_ARGS)

# The fleet mode: 10 ensembles of 3 in one inventory; results/bench-fleet/. Not in make test.
bench-fleet: system-deps venv
	python -m bench.fleet $(BENCH_ARGS)

# site.yml with every supported ansible-core, one after the other, each on fresh lab hosts: a
# converge and a run that must change nothing; results/core-matrix.json.
core-matrix: system-deps venv
	python -m ci.core_matrix $(CORE_ARGS) $(CORE_VERSIONS)

clean:
	rm -rf $(VENV) .venv-core .lab/build build
