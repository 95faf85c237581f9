# Two entry points for a fresh machine: `make run` and `make test`. Both set up what they need.
.PHONY: run test bench setup

run:
	@bash scripts/bootstrap.sh
	.venv/bin/observatory serve

test:
	@bash scripts/bootstrap.sh --browser
	@echo "==> frontend unit tests (vitest)"
	npm --prefix frontend test
	@echo "==> Python tests (unit, integration, e2e, realcli)"
	.venv/bin/python -m pytest -q -rs

bench:
	@bash scripts/bootstrap.sh
	.venv/bin/python bench/run_all.py
