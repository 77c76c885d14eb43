#!/usr/bin/env bash
# The role README's example play, run as written: `become: true` on the play and the API credentials
# only in OVH_* environment variables (as an AWX credential injects them), through a sudo that resets
# the environment and HOME as sudo's env_reset does. host2 keeps its key on the controller, in the
# default okms_controller_key_dir under the HOME of the user running ansible-playbook; an AWX job
# with that source and no okms_controller_key_dir is refused before any request or file.
set -eux
export ANSIBLE_ROLES_PATH=..
setup="$(cd ../okms_role_setup && pwd)"
config="$(cd ../.. && pwd)/integration_config.yml"
# ansible-test runs a copy of the target; the README is in the collection Ansible uses.
collections="$(ansible-galaxy collection list ovhcloud.kms --format json \
    | python -c 'import json, sys; print(next(iter(json.load(sys.stdin))))')"
readme="${collections}/ovhcloud/kms/roles/okms/README.md"
# shellcheck source=../okms_role_setup/audit.sh
source "${setup}/audit.sh"
work="${OUTPUT_DIR:?}/okms_role_become"
rm -rf "${work}"
mkdir -p "${work}/bin" "${work}/home" "${work}/become-home"
export OKMS_ROLE_WORK="${work}"
# Tests run as root, and Ansible skips become to the user it already is: make it become anyway, as it
# does for a non-root controller user whose play becomes root.
export ANSIBLE_BECOME_ALLOW_SAME_USER=true

# The example, exactly as the README shows it.
awk '/^## Example/ {section = 1} section && /^```yaml$/ {copy = 1; next} copy && /^```$/ {exit} copy' \
    "${readme}" > "${work}/example.yml"
grep -q '^  become: true$' "${work}/example.yml"
grep -q 'role: ovhcloud.kms.okms' "${work}/example.yml"

# sudo's options are dropped; the command runs with PATH and another HOME only.
cat > "${work}/bin/sudo" <<EOF
#!/bin/sh
echo become >> "${work}/become.log"
while [ \$# -gt 0 ]; do
    case "\$1" in
        -u|-p|-g|-C|-D|-h|-r|-t|-U) shift 2 ;;
        --) shift; break ;;
        -*) shift ;;
        *) break ;;
    esac
done
exec /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="${work}/become-home" "\$@"
EOF
chmod 0755 "${work}/bin/sudo"

setting() {
    python -c 'import json, sys; print(json.load(open(sys.argv[1]))["okms_emulator_" + sys.argv[2]])' "${config}" "$1"
}

# The API settings, as an AWX credential of the "OVHcloud API" type injects them (not traced: secrets).
set +x
OVH_ENDPOINT="$(setting endpoint)"
OVH_APPLICATION_KEY="$(setting application_key)"
OVH_APPLICATION_SECRET="$(setting application_secret)"
OVH_CONSUMER_KEY="$(setting consumer_key)"
REQUESTS_CA_BUNDLE="$(setting ca_path)"
export OVH_ENDPOINT OVH_APPLICATION_KEY OVH_APPLICATION_SECRET OVH_CONSUMER_KEY REQUESTS_CA_BUNDLE
unset OVH_CLIENT_ID OVH_CLIENT_SECRET XDG_DATA_HOME
set -x

play() {
    # play LOG ARGS...: ansible-playbook as the controller user whose HOME is ${work}/home.
    local log="${work}/$1"
    shift
    HOME="${work}/home" ansible-playbook -i inventory.yml "$@" 2>&1 | tee "${log}"
    return "${PIPESTATUS[0]}"
}

example() {
    # Only what this machine cannot have is overridden: the example's owner root and group myapp.
    local log="$1"
    shift
    play "${log}" "${work}/example.yml" -e "okms_cert_owner=$(id -un)" -e "okms_cert_group=$(id -gn)" "$@"
}

recap_unchanged() {
    grep -E '^host[0-9] +:' "${work}/$1" >/dev/null
    ! grep -E '^host[0-9] +:' "${work}/$1" | grep -vq 'changed=0 '
}

recap_changed() {
    grep -E '^host[0-9] +:' "${work}/$1" | grep -vq 'changed=0 '
}

# 0. An AWX job keeping host2's key on the controller without okms_controller_key_dir: refused
#    before any request and any file. The host source is not affected.
audit_mark
if example awx.log --limit host2 -e awx_job_id=42; then
    echo "the AWX job with a controller-held key and no okms_controller_key_dir was not refused" >&2
    exit 1
fi
grep -q 'Set okms_controller_key_dir to a persistent directory mounted into the execution environment' "${work}/awx.log"
audit_check no_request
test ! -e "${work}/home/.local/share/ovhcloud.kms"
test ! -e "${work}/host2"
example awx_host_source.log --limit host1 -e tower_job_id=42 --check

# 1. Check mode from nothing: no mutating request, no file on the hosts or the controller.
audit_mark
example check1.log --check
recap_changed check1.log
audit_check no_mutation
test ! -e "${work}/host1/okms"
test ! -e "${work}/host2/okms"
test ! -e "${work}/home/.local/share/ovhcloud.kms"

# 2. The real run converges; the hosts' tasks went through the sudo stand-in.
: > "${work}/become.log"
example run1.log
recap_changed run1.log
test -s "${work}/become.log"

# 3. Check mode again, then for real: nothing to do.
audit_mark
example check2.log --check
recap_unchanged check2.log
audit_check no_mutation
example run2.log
recap_unchanged run2.log

# 4. What the run left: become really resets the environment, the controller's key is in the default
#    directory of the controller user (not of the become user), and every host works over mTLS.
play verify.log verify.yml -e "@${config}"
