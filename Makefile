# Thin wrapper around meson (STYLE.md: Makefile is thin). The real build is
# meson.build; scripts/ hold the longer steps.
BUILD ?= build
SAN_BUILD ?= build-san
MESON ?= meson

.PHONY: all deps build check unit test-san format-check demo bench fuzz clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --buildtype=debugoptimized

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# make check: install what is missing, build, run every test (unit,
# fuzz-corpus replay, integration, browser), the unit tests again under
# ASan+UBSan, and the formatting check.
check: deps
	scripts/check.sh

demo: deps build
	scripts/demo.sh

bench: deps build
	scripts/bench.sh

fuzz: deps
	scripts/fuzz.sh

format-check:
	scripts/format.sh --check

clean:
	rm -rf $(BUILD) $(SAN_BUILD) build-fuzz
