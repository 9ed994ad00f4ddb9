# Two commands on a fresh machine: `make demo` and `make test`. Both run `setup` first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system-deps test demo bench clean

setup: system-deps $(STAMP)

# libfluidsynth3 is the one system library we need (pyfluidsynth loads it at run time);
# chromium and chromium-driver only run the studio's browser test.
system-deps:
	@if ldconfig -p 2>/dev/null | grep -q 'libfluidsynth.so.3'; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "installing libfluidsynth3 with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libfluidsynth3 >/dev/null; \
	else \
		echo "composer needs the fluidsynth library: run 'sudo apt-get install libfluidsynth3' (Debian/Ubuntu) or 'brew install fluid-synth' (macOS), then 'make setup' again"; \
		exit 1; \
	fi
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver with apt-get (the studio's browser test)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
		echo "note: the studio's browser test needs 'sudo apt-get install chromium chromium-driver'; it is skipped without them"; \
	fi

# Basic Pitch (the transcription model) is installed without its dependencies: its metadata pins
# tensorflow<2.15.1 and we run 2.21; what it needs (mir_eval, resampy, librosa, scipy) is in pyproject.toml.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps basic-pitch==0.4.0
	@touch $(STAMP)

test: setup
	$(BIN)/pytest -q --timeout 600

demo: setup
	$(BIN)/composer demo --out out/demo

# Benchmarks compare against the fluidsynth command-line program too.
bench: setup
	@command -v fluidsynth >/dev/null || { [ "$$(id -u)" = "0" ] && apt-get install -y -qq fluidsynth >/dev/null; }
	for script in benchmarks/*.py; do $(BIN)/python $$script; done

clean:
	rm -rf $(VENV) out .pytest_cache
