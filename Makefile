# ZooKeeper 3.4 ensembles with Ansible. `make lab` builds a local three-node ensemble,
# `make test` runs every test the project has.
SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
SYSTEM_PACKAGES := podman runc debootstrap openssh-client iproute2
# Vagrant and its libvirt provider, without the libvirt daemon, QEMU and kernel they recommend
# (the container route needs none of them; vagrant-libvirt lets `vagrant validate` check the
# libvirt settings).
VAGRANT_PACKAGES := vagrant vagrant-libvirt
SCENARIOS ?= default package debian12 hardening vagrant
# Scenarios run after those, alone, so that their timings are not those of a loaded machine.
ALONE_SCENARIOS ?= operations

# The Vagrant lab's container route (the Vagrantfile reads its machines from
# inventories/vagrant/hosts.yml; name and network as there).
VAGRANT_LAB := --name=vagrant --subnet=192.168.56.0/24

.PHONY: help venv system-deps lab lab-down lab-status vagrant-lab vagrant-lab-down lint unit \
	molecule test bench clean vagrant-deps

help:
	@echo "make lab        build the local lab and deploy a 3-node ensemble to it"
	@echo "make lab-down   remove the lab's containers and network"
	@echo "make vagrant-lab       the seed guides' Vagrant lab (zookeeper01-03 at 192.168.56.112-114)"
	@echo "                       by Vagrant's docker provider on Podman, deployed by its provisioner"
	@echo "make vagrant-lab-down  destroy it"
	@echo "make test       lint, unit tests and the Molecule scenarios ($(SCENARIOS) $(ALONE_SCENARIOS))"
	@echo "make bench      time converge, re-run, config change, leader failover and memory on the"
	@echo "                lab bench (10.213.16.0/24); BENCH_ARGS=\"--repeat 1 --keep --results DIR\""

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
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

lint: venv
	yamllint --strict .
	ansible-lint
	ruff check .

unit: venv
	pytest -q tools roles

molecule: system-deps vagrant-deps venv
	tools/molecule-scenarios $(SCENARIOS)
	tools/molecule-scenarios $(ALONE_SCENARIOS)

test: lint unit molecule

# Figures against the targets, with median/min/max over the repetitions; results/bench/.
bench: system-deps venv
	tools/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .lab/build
