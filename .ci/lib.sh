# Shell helpers of .ci/services and .ci/peer; source it, do not run it.

up() { # host port: is something listening?
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_up() { # name port: wait up to 60 s for it, or fail
  for _ in $(seq 1 60); do
    if up 127.0.0.1 "$2"; then echo "$1 is up on port $2"; return 0; fi
    sleep 1
  done
  echo "FAIL: $1 did not come up on port $2" >&2
  exit 1
}

apt_install() { # package...: install Debian packages, quietly
  echo "installing $*"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

install_missing() { # command package...: install the packages unless the command exists
  command -v "$1" >/dev/null 2>&1 || apt_install "${@:2}"
}
