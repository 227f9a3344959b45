# make run   - install missing Debian packages, build, run the main job
# make test  - install missing Debian packages, build, run every test
BUILD ?= build
BUILD_TYPE ?= Release
TTT_MODELS_DIR ?= $(abspath $(CURDIR)/../shared/models)
MODEL ?= $(TTT_MODELS_DIR)/stories260K
SANITIZE ?=
PROMPT ?= Once upon a time
DEVICE ?= cpu
export TTT_MODELS_DIR

.PHONY: all deps configure build run test bench clean

all: build

deps:
	@bash scripts/setup-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DTTT_SANITIZE="$(SANITIZE)" >/dev/null

build: configure
	@cmake --build $(BUILD)

run: build
	./$(BUILD)/ttt generate --model "$(MODEL)" --prompt "$(PROMPT)" --device $(DEVICE) --max-tokens 64

test: build
	cd $(BUILD) && ctest --output-on-failure -j2

bench: build
	./$(BUILD)/bench_formats

clean:
	rm -rf $(BUILD)
