# The README's two commands, as make targets (both run as root or with sudo).
.PHONY: playground test

playground:  ## set up this host and run playbooks/docker_pod.yml on its embedded default
	scripts/playground.sh

test:  ## set up this host and run the whole test suite
	scripts/test.sh
