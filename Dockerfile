# syntax=docker/dockerfile:1
# handover in a container: one static binary (musl) on Debian slim, with the two tools a
# handover uses beside it: `age` (the customer can open the manifest with the reference
# CLI) and `openssh-client` (`ssh-keygen -Y verify` checks the manifest's signature).
#
#   docker build -t handover .
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/work" handover policy list
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/work" \
#     -v "$HOME/.aws:/home/handover/.aws:ro" -e AWS_PROFILE=customer-audit \
#     handover audit --aws --region eu-west-1 -o inventory.json
#
# Outputs are written into /work (the mounted folder) with mode 0600, owned by --user.
#
# Static linking works because the TLS stack has no OpenSSL: the AWS SDK and the Google
# crates use rustls on aws-lc, whose C (aws-lc-sys) is compiled here with musl-gcc
# (CMake is installed for the build paths of aws-lc-sys that ask for it).

ARG RUST_VERSION=1.95
ARG DEBIAN=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The binary only (not the GCP test server of the workspace), exactly as Cargo.lock pins.
RUN set -eux; \
    target="$(uname -m)-unknown-linux-musl"; \
    rustup target add "$target"; \
    export "CC_$(uname -m)_unknown_linux_musl=musl-gcc"; \
    cargo build --locked --release --package handover --bin handover --target "$target"; \
    cp "target/$target/release/handover" /handover; \
    ldd /handover 2>&1 | grep -Eq 'not a dynamic executable|statically linked'; \
    /handover --version

FROM debian:${DEBIAN}-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends age openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 handover
COPY --from=builder /handover /usr/local/bin/handover
RUN mkdir -p /etc/bash_completion.d \
 && handover completions bash > /etc/bash_completion.d/handover
USER handover
WORKDIR /work
ENTRYPOINT ["handover"]
CMD ["--help"]
