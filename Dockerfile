# Multi-stage build: compile in the Rust image, run as a non-root user in a slim Debian image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --profile dist --locked -p tantana -p migration \
    && cp target/dist/tantana target/dist/migration /usr/local/bin/

FROM debian:bookworm-slim
# CA certificates for the SMS provider and reCAPTCHA over HTTPS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/tantana --create-home tantana
COPY --from=build /usr/local/bin/tantana /usr/local/bin/migration /usr/local/bin/
USER tantana
WORKDIR /var/lib/tantana
ENV BIND=0.0.0.0:8000 LOG_FORMAT=json DEBUG=false
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/tantana"]
CMD ["serve"]
