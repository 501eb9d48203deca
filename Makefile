# ZooKeeper 3.4 ensembles with Ansible. `make lab` builds a local three-node ensemble,
# `make test` runs every test the project has.
SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
SYSTEM_PACKAGES := podman runc debootstrap openssh-client iproute2
SCENARIOS ?= default package debian12 hardening
# Scenarios run after those, alone, so that their timings are not those of a loaded machine.
ALONE_SCENARIOS ?= operations

.PHONY: help venv system-deps lab lab-down lab-status lint unit molecule test bench clean

help:
	@echo "make lab        build the local lab and deploy a 3-node ensemble to it"
	@echo "make lab-down   remove the lab's containers and network"
	@echo "make test       lint, unit tests and the Molecule scenarios ($(SCENARIOS) $(ALONE_SCENARIOS))"
	@echo "make bench      time converge, re-run, config change, leader failover and memory on the"
	@echo "                lab bench (10.213.16.0/24); BENCH_ARGS=\"--repeat 1 --keep --results DIR\""

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing system packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "missing system packages: $$missing"; \
		echo "install them with: sudo apt-get install $$missing (the lab also needs root for Podman)"; \
		exit 1; \
	fi

lab: system-deps venv
	tools/lab up
	ansible-playbook -i inventories/lab playbooks/site.yml
	tools/zk-status -i inventories/lab

lab-down:
	tools/lab down

lab-status:
	tools/lab status
	tools/zk-status -i inventories/lab

lint: venv
	yamllint --strict .
	ansible-lint
	ruff check .

unit: venv
	pytest -q tools roles

molecule: system-deps venv
	tools/molecule-scenarios $(SCENARIOS)
	tools/molecule-scenarios $(ALONE_SCENARIOS)

test: lint unit molecule

# Figures against the targets, with median/min/max over the repetitions; results/bench/.
bench: system-deps venv
	tools/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .lab/build
