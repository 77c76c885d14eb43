#!/usr/bin/env bash
# okms_revoke_unclaimed_credentials: hostB is renamed hostC in the inventory. Without the opt-in its old
# credential stays; with it, it is revoked (check mode only reports it), even under --limit, while the
# credentials of hosts outside the limit and a credential without the role's prefix stay.
set -eux
export ANSIBLE_ROLES_PATH=..
setup="$(cd ../okms_role_setup && pwd)"
config="$(cd ../.. && pwd)/integration_config.yml"
# shellcheck source=../okms_role_setup/audit.sh
source "${setup}/audit.sh"
work="${OUTPUT_DIR:?}/okms_role_unclaimed"
rm -rf "${work}"
mkdir -p "${work}"
export OKMS_ROLE_WORK="${work}"

run() {
    # run LOG INVENTORY ARGS...
    local log="${work}/$1" inventory="$2"
    shift 2
    ansible-playbook -i "${inventory}" -e "@${config}" "$@" 2>&1 | tee "${log}"
    return "${PIPESTATUS[0]}"
}

live() {
    run "live-$1.log" inventory_after.yml credentials.yml -e "{\"okms_test_expected\": $2}"
}

# 1. hostA, hostB, hostD get their credentials; someone else's credential joins the KMS. With the
#    opt-in, nothing is unclaimed.
run before.log inventory_before.yml bootstrap.yml -e okms_revoke_unclaimed_credentials=true
run other.log inventory_before.yml other_credential.yml
grep -q 'Every credential of ansible-okms-\* is claimed by a host' "${work}/before.log"

# 2. hostB renamed hostC, without the opt-in: hostC gets a credential, hostB's stays.
run renamed.log inventory_after.yml bootstrap.yml
live 2 '["ansible-okms-custom-a", "ansible-okms-hostB", "ansible-okms-hostC", "ansible-okms-hostD", "someone-else"]'

# 3. With the opt-in, in check and diff mode, limited to hostC: hostB's credential is reported, not revoked.
audit_mark
run check.log inventory_after.yml bootstrap.yml --check --diff --limit hostC -e okms_revoke_unclaimed_credentials=true
grep -q 'Unclaimed credentials of ansible-okms-\*, revoked on a real run: ansible-okms-hostB"' "${work}/check.log"
grep -q 'changed: \[hostC -> localhost\] => (item=ansible-okms-hostB)' "${work}/check.log"
grep -qE '^- +"name": "ansible-okms-hostB",$' "${work}/check.log"
audit_check no_mutation

# 4. For real, still limited to hostC: only hostB's credential goes; hostA and hostD, outside the
#    limit, keep theirs (hostA's name comes from its inventory variables).
run revoke.log inventory_after.yml bootstrap.yml --limit hostC -e okms_revoke_unclaimed_credentials=true
live 4 '["ansible-okms-custom-a", "ansible-okms-hostC", "ansible-okms-hostD", "someone-else"]'

# 5. Nothing left to do.
run again.log inventory_after.yml bootstrap.yml -e okms_revoke_unclaimed_credentials=true
grep -E '^host[A-D] +:' "${work}/again.log"
if grep -E '^host[A-D] +:' "${work}/again.log" | grep -vq 'changed=0 '; then
    echo "the run after the revocation changed something" >&2
    exit 1
fi
grep -q 'Every credential of ansible-okms-\* is claimed by a host' "${work}/again.log"
