#!/usr/bin/env bash
# What fails in the role's once-per-play steps fails the hosts that depend on it, and the recap counts
# each of them: (1) a KMS that cannot be found stops every host at once, before anything else; (2) a
# service key that cannot be converged (kf-clash exists as an oct key, the inventory asks for an EC key)
# stops neither the other keys nor any host's credential, and fails each host keeping a credential at the
# end of the role, after its handlers, naming the key; (3) a shared credential that cannot be issued
# fails every host.
set -eux
export ANSIBLE_ROLES_PATH=..
setup="$(cd ../okms_role_setup && pwd)"
config="$(cd ../.. && pwd)/integration_config.yml"
# shellcheck source=../okms_role_setup/audit.sh
source "${setup}/audit.sh"
work="${OUTPUT_DIR:?}/okms_role_key_failure"
rm -rf "${work}"
mkdir -p "${work}"
export OKMS_ROLE_WORK="${work}"

run() {
    # run LOG PLAYBOOK ARGS...: ansible-playbook with the emulator settings, output kept in LOG.
    local log="${work}/$1"
    shift
    ansible-playbook -i inventory.yml -e "@${config}" "$@" 2>&1 | tee "${log}"
    return "${PIPESTATUS[0]}"
}

must_fail() {
    # must_fail LOG PLAYBOOK ARGS...: the run ends non-zero.
    if run "$@"; then
        echo "$2 $1: the run succeeded, it must fail" >&2
        exit 1
    fi
}

recap() {
    # recap LOG HOST failed|ok: the host's PLAY RECAP line shows failed=1, or failed=0.
    local line
    line="$(grep -E "^$2 +:" "${work}/$1")"
    if [ "$3" = failed ]; then
        grep -q 'failed=1 ' <<< "${line}"
    else
        grep -q 'failed=0 ' <<< "${line}"
    fi
}

fatal() {
    # fatal LOG HOST TEXT: the host's error (fatal: [HOST]: FAILED!) says TEXT.
    grep -E "^fatal: \[$2\]: FAILED!" "${work}/$1" | grep -qF -- "$3"
}

# 1. A KMS id that does not exist: every host fails, and the recap counts each one; nothing is sent but
#    reads, no file is written.
audit_mark
must_fail no_kms.log bootstrap.yml -e okms_id=0b0e4a35-5d40-4d6e-9a8c-5e2f7d7f0c11
for host in host1 host2 host3; do
    recap no_kms.log "${host}" failed
    fatal no_kms.log "${host}" 'The KMS 0b0e4a35-5d40-4d6e-9a8c-5e2f7d7f0c11 could not be found or ordered'
done
audit_check no_mutation
test ! -e "${work}/host1"
test ! -e "${work}/host2"
if grep -q 'after the role on' "${work}/no_kms.log"; then
    echo "a task after the role ran although the KMS was not found" >&2
    exit 1
fi

# 2. kf-clash exists as an oct key.
run setup.log setup.yml

# 3. Check mode: the same failure is predicted, nothing is sent but reads.
audit_mark
must_fail check.log bootstrap.yml --check
recap check.log host1 failed
recap check.log host2 failed
recap check.log host3 ok
fatal check.log host1 'service key kf-clash of KMS'
audit_check no_mutation

# 4. For real: kf-first and kf-last are created, every present host gets its credential and files and
#    runs its handler, then fails naming kf-clash and why; the leaving host does not fail for a key, and
#    only it goes on with the play.
must_fail run1.log bootstrap.yml
for host in host1 host2; do
    recap run1.log "${host}" failed
    fatal run1.log "${host}" "This host's credential and files are deployed"
    fatal run1.log "${host}" 'service key kf-clash of KMS'
    # The module's reason: kf-clash is an oct key, the task asks for an EC key.
    fatal run1.log "${host}" 'oct'
    fatal run1.log "${host}" 'EC'
    test -s "${work}/${host}.reloaded"
    cmp "${work}/${host}.reloaded" "${work}/${host}/okms/client.cert"
    if grep -q "after the role on ${host}\"" "${work}/run1.log"; then
        echo "the task after the role ran on ${host}, which the failed key concerns" >&2
        exit 1
    fi
done
recap run1.log host3 ok
grep -q '"after the role on host3"' "${work}/run1.log"
test ! -e "${work}/host3.reloaded"
# Each failure is counted once, on its host: no host was stopped without its own error.
test "$(grep -cE '^host[0-9] +:' "${work}/run1.log")" = 3
run verify.log verify.yml

# 5. Once kf-clash is asked for as it is, the run succeeds and has nothing left to do.
run fixed.log bootstrap.yml \
    -e '{"okms_service_keys": [{"name": "kf-first", "type": "oct"}, {"name": "kf-clash", "type": "oct"}, {"name": "kf-last", "type": "RSA"}]}'
for host in host1 host2 host3; do
    recap fixed.log "${host}" ok
    grep -E "^${host} +:" "${work}/fixed.log" | grep -q 'changed=0 '
done

# 6. A shared credential that cannot be issued (an identity URN the module refuses): every host fails,
#    naming it.
must_fail shared.log bootstrap.yml --limit host1,host2 -e okms_credential_shared=true -e okms_private_key_source=controller \
    -e '{"okms_credential_identity_urns": ["urn:not-an-identity"]}' \
    -e '{"okms_service_keys": [{"name": "kf-first", "type": "oct"}]}'
for host in host1 host2; do
    recap shared.log "${host}" failed
    fatal shared.log "${host}" 'The shared credential ansible-okms-shared of KMS'
    fatal shared.log "${host}" 'urn:not-an-identity'
done
