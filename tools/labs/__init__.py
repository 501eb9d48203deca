"""The labs the tests and `make lab` run on: systemd containers under Podman with an offline
mirror (lab), what the mirror serves (release) and signs it with (signing), and the Vagrant lab's
container route (vagrant). The command line is `tools/lab` (`python -m labs`)."""
