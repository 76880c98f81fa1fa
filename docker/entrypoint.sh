#!/usr/bin/env bash
# Entrypoint of the quantfarm image, for both roles of a cluster (docker/compose.yaml):
#
#   qf-entrypoint worker         runs sshd in the foreground on 127.0.0.1:$QF_SSH_PORT;
#                                mpirun on the head starts this container's ranks over it
#   qf-entrypoint head [CMD...]  starts its own sshd, waits until every worker's sshd
#                                answers (bounded), then runs `mpirun ... CMD` across the
#                                head and the workers; the job's exit code is the
#                                container's. CMD defaults to
#                                `quantfarm serve --bind 127.0.0.1 --port 8000`
#   qf-entrypoint OTHER...       runs OTHER as it is (`quantfarm data synth ...`, `bash`)
#
# Containers share the host's network (network_mode: host): every sshd listens on its
# own loopback port, and the containers have distinct hostnames, which are the host
# names mpirun sees. The head reaches a worker through an ssh alias of its hostname.
#
# Environment:
#   QF_SSH_PORT      this container's sshd port (required for head and worker)
#   QF_WORKERS       head: the workers, "HOSTNAME:PORT ..." (e.g. "worker1:2222 worker2:2223");
#                    each HOSTNAME must be that container's hostname
#   QF_SLOTS         slots per container in the hostfile (2): the spare ones (slots
#                    beyond the job's ranks) are where MPI_Comm_spawn puts new workers
#   QF_NP            ranks of the job (1 + the number of workers): mapped by node, so
#                    rank 0 (the head of quantfarm) runs here and one rank per worker
#   QF_MPIRUN_ARGS   more mpirun arguments (split on spaces)
#   QF_WAIT_WORKERS  seconds to wait for the workers' sshd (60)
#   QF_SSH_DIR       the volume shared by every container: the cluster's key pair (/qf/ssh)
#   QF_ENV_EXTRA     names of more variables to pass to every rank (mpirun -x)
# Variables named QUANTFARM_*, BINANCE_*, YAHOO_FINANCE_*, ALPHA_VANTAGE_*, ALGORUNNER_*,
# SCREENER_*, TICKSCRAWLER_*, ENSEMBLE_*, EXPERIMENTS_*, SERVE_*, OMP_* and SSL_CERT_*
# are passed to every rank; an empty one counts as unset.
set -euo pipefail

say() { echo "qf-entrypoint: $*" >&2; }
die() { say "error: $*"; exit 1; }

ssh_dir=${QF_SSH_DIR:-/qf/ssh}
run_dir=/run/qf
mkdir -p "$run_dir" /run/sshd "$ssh_dir"

# Drop empty configuration variables (compose passes unset ones through as empty).
for v in $(compgen -e); do
  case $v in
    QUANTFARM_* | BINANCE_* | YAHOO_FINANCE_* | ALPHA_VANTAGE_* | ALGORUNNER_* | SCREENER_* | \
    TICKSCRAWLER_* | ENSEMBLE_* | EXPERIMENTS_* | SERVE_* | OMP_* | SSL_CERT_*)
      [ -n "${!v}" ] || unset "$v" ;;
  esac
done

# start_sshd [-D]: sshd on 127.0.0.1:$QF_SSH_PORT with a host key of this container,
# accepting the cluster's key (read at each login, so it may appear after the start).
start_sshd() {
  [ -n "${QF_SSH_PORT:-}" ] || die "QF_SSH_PORT is not set (this container's sshd port)"
  [ -f "$run_dir/ssh_host_ed25519_key" ] ||
    ssh-keygen -q -t ed25519 -N '' -C "$(hostname)" -f "$run_dir/ssh_host_ed25519_key"
  cat > "$run_dir/sshd_config" <<EOF
Port $QF_SSH_PORT
ListenAddress 127.0.0.1
HostKey $run_dir/ssh_host_ed25519_key
PidFile $run_dir/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile $ssh_dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
MaxStartups 64:30:128
LogLevel ${QF_SSHD_LOGLEVEL:-INFO}
EOF
  say "$(hostname): sshd on 127.0.0.1:$QF_SSH_PORT"
  if [ "${1:-}" = -D ]; then
    exec /usr/sbin/sshd -D -e -f "$run_dir/sshd_config"
  fi
  /usr/sbin/sshd -e -f "$run_dir/sshd_config" 2>> "$run_dir/sshd.log" ||
    { cat "$run_dir/sshd.log" >&2; die "sshd did not start on port $QF_SSH_PORT"; }
}

# The cluster's key pair, made once by whichever head comes first (under a lock).
make_keys() {
  (
    flock -w 30 9 || die "cannot lock $ssh_dir/.lock"
    if [ ! -f "$ssh_dir/id_ed25519" ]; then
      rm -f "$ssh_dir/tmp_key" "$ssh_dir/tmp_key.pub"
      ssh-keygen -q -t ed25519 -N '' -C quantfarm-cluster -f "$ssh_dir/tmp_key"
      cp "$ssh_dir/tmp_key.pub" "$ssh_dir/authorized_keys.tmp"
      mv "$ssh_dir/authorized_keys.tmp" "$ssh_dir/authorized_keys"
      mv "$ssh_dir/tmp_key.pub" "$ssh_dir/id_ed25519.pub"
      mv "$ssh_dir/tmp_key" "$ssh_dir/id_ed25519"
      say "made the cluster's key pair in $ssh_dir"
    fi
  ) 9> "$ssh_dir/.lock"
  chmod 600 "$ssh_dir/id_ed25519"
}

role=${1:-}
case $role in
  worker)
    start_sshd -D ;;
  head)
    shift ;;
  "")
    die "usage: qf-entrypoint head [CMD...] | worker | COMMAND..." ;;
  *)
    exec "$@" ;;
esac

# --- head ---
[ $# -gt 0 ] || set -- quantfarm serve --bind 127.0.0.1 --port 8000
make_keys
start_sshd

read -r -a workers <<< "${QF_WORKERS:-}"
slots=${QF_SLOTS:-2}
np=${QF_NP:-$((1 + ${#workers[@]}))}
wait_s=${QF_WAIT_WORKERS:-60}
me=$(hostname)

mkdir -p /root/.ssh
{
  for w in "${workers[@]}"; do
    [[ $w =~ ^([A-Za-z0-9][A-Za-z0-9.-]*):([0-9]+)$ ]] ||
      die "QF_WORKERS: '$w' is not HOSTNAME:PORT"
    [ "${BASH_REMATCH[1]}" != "$me" ] || die "QF_WORKERS: worker '$w' has the head's hostname"
    printf 'Host %s\n  HostName 127.0.0.1\n  Port %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
  done
  printf 'Host *\n  User root\n  IdentityFile %s/id_ed25519\n  IdentitiesOnly yes\n' "$ssh_dir"
  printf '  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n'
  printf '  BatchMode yes\n  ConnectTimeout 5\n'
} > /root/.ssh/config
chmod 600 /root/.ssh/config

# Every worker's sshd must answer, as the hostname its alias names (mpirun tells the
# nodes apart by hostname), within QF_WAIT_WORKERS seconds.
deadline=$((SECONDS + wait_s))
for w in "${workers[@]}"; do
  name=${w%%:*}
  until got=$(timeout 10 ssh "$name" hostname 2> "$run_dir/ssh-$name.err"); do
    if [ $SECONDS -ge $deadline ]; then
      cat "$run_dir/ssh-$name.err" >&2
      die "worker '$name' (sshd on 127.0.0.1:${w##*:}) did not answer ssh within $wait_s s"
    fi
    sleep 0.5
  done
  [ "$got" = "$name" ] ||
    die "worker '$name' (127.0.0.1:${w##*:}) answers as host '$got': its hostname must be '$name'"
  say "worker $name answers on 127.0.0.1:${w##*:}"
done

{
  echo "$me slots=$slots"
  for w in "${workers[@]}"; do echo "${w%%:*} slots=$slots"; done
} > "$run_dir/hostfile"

envs=()
for v in $(compgen -e); do
  case $v in
    QUANTFARM_* | BINANCE_* | YAHOO_FINANCE_* | ALPHA_VANTAGE_* | ALGORUNNER_* | SCREENER_* | \
    TICKSCRAWLER_* | ENSEMBLE_* | EXPERIMENTS_* | SERVE_* | OMP_* | SSL_CERT_*)
      envs+=(-x "$v") ;;
  esac
done
for v in ${QF_ENV_EXTRA:-}; do envs+=(-x "$v"); done

# Between containers: ssh (one hop, no tree spawn), TCP on loopback; shared memory
# within a container, without CMA (process_vm_readv is not allowed in containers).
read -r -a extra <<< "${QF_MPIRUN_ARGS:-}"
cmd=(mpirun --allow-run-as-root --hostfile "$run_dir/hostfile" -np "$np" --map-by node
     --bind-to none --mca plm_rsh_agent ssh --mca plm_rsh_no_tree_spawn 1
     --mca btl self,vader,tcp --mca btl_vader_single_copy_mechanism none
     --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo
     "${envs[@]}" "${extra[@]}" "$@")
say "hosts: $(tr '\n' ' ' < "$run_dir/hostfile")"
say "${cmd[*]}"
exec "${cmd[@]}"
