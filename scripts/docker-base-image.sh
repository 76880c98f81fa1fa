#!/usr/bin/env bash
# Makes the debian:bookworm-slim base image without a registry (there is no Docker Hub
# here): debootstrap --variant=minbase from the Debian mirror apt is configured with,
# then `docker import`. Does nothing when the image exists already (cached).
# Usage: scripts/docker-base-image.sh [IMAGE]   (default debian:bookworm-slim)
# Env: DOCKER (the docker client, default: docker; DOCKER_HOST is honoured),
#      DEBIAN_MIRROR (default: read from /etc/apt/sources.list{,.d/*}).
set -euo pipefail
image=${1:-debian:bookworm-slim}
suite=bookworm
docker=${DOCKER:-docker}
say() { echo "docker-base-image: $*"; }

if $docker image inspect "$image" > /dev/null 2>&1; then
  say "$image exists (cached): nothing to do"
  exit 0
fi

# mirror_for SUITE: the URI of the first enabled apt source serving SUITE, in the
# one-line format (sources.list, *.list) or deb822 (*.sources).
mirror_for() {
  local want=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v s="$want" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                       if ($(i + 1) == s) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$want" 'BEGIN { RS = ""; FS = "\n" }
      { types = uris = suites = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/) types = $i
          else if ($i ~ /^URIs:/) uris = $i
          else if ($i ~ /^Suites:/) suites = $i
          else if ($i ~ /^Enabled:/) enabled = tolower($2)
        }
        split(uris, u, /[ \t]+/); n = split(suites, ss, /[ \t]+/)
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no")
          for (j = 2; j <= n; j++) if (ss[j] == s) { print u[2]; exit } }' "$f"
  done | head -n 1
}

mirror=${DEBIAN_MIRROR:-$(mirror_for "$suite")}
[ -n "$mirror" ] || { say "error: no apt source for $suite in /etc/apt (set DEBIAN_MIRROR)"; exit 1; }
security=$(mirror_for "$suite-security")
command -v debootstrap > /dev/null || { say "error: debootstrap is not installed"; exit 1; }

rootfs=$(mktemp -d /var/tmp/qf-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
log="$rootfs.log"
say "debootstrap --variant=minbase $suite from $mirror (about 40 s; log: $log)"
start=$SECONDS
# Progress: debootstrap's stage lines (every line goes to the log).
if ! debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" 2>&1 | tee "$log" |
     { grep --line-buffered -E '^I: (Retrieving Release|Checking component|Installing core|Unpacking the base|Configuring the base|Base system installed)' |
       sed -u 's/^/docker-base-image:   /' || true; }; then
  tail -n 30 "$log" >&2
  say "error: debootstrap failed (log above)"
  exit 1
fi
say "debootstrap done in $((SECONDS - start)) s"

# apt inside the image uses the same mirror (and the security archive when the host
# has one); downloaded packages and lists are not kept in the image.
{
  echo "deb $mirror $suite main"
  echo "deb $mirror $suite-updates main"
  [ -z "$security" ] || echo "deb $security $suite-security main"
} > "$rootfs/etc/apt/sources.list"
# As in Docker's own Debian images: no daemon starts when a package is installed.
printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/var/log/*.log
: > "$rootfs/etc/hostname"

say "importing $(du -sh "$rootfs" | cut -f1) as $image"
tar --numeric-owner -C "$rootfs" -c . |
  $docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$image" > /dev/null
rm -f "$log"
say "$image ready ($((SECONDS - start)) s)"
