#!/usr/bin/env bash
# What the role refuses before it changes anything: a private-key mode readable by the group (without
# okms_key_mode_allow_group_read) or by others, and a bad okms_service_keys item, before any request at
# all; okms_id with the okms_instance_name of another name, before any mutating request, on every host
# (the role never renames a KMS).
set -eux
export ANSIBLE_ROLES_PATH=..
setup="$(cd ../okms_role_setup && pwd)"
config="$(cd ../.. && pwd)/integration_config.yml"
# shellcheck source=../okms_role_setup/audit.sh
source "${setup}/audit.sh"
work="${OUTPUT_DIR:?}/okms_role_guards"
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

refused() {
    # refused LOG TEXT ARGS...: bootstrap.yml with ARGS fails on every host with TEXT in its error, and
    # leaves no file.
    local log="$1" text="$2"
    shift 2
    if run "${log}" bootstrap.yml "$@"; then
        echo "${log}: the run succeeded, it must be refused" >&2
        exit 1
    fi
    for host in host1 host2; do
        grep -E "^${host} +:" "${work}/${log}" | grep -q 'failed=1 '
        grep -E "^fatal: \[${host}\]: FAILED!" "${work}/${log}" | grep -qF -- "${text}"
        test ! -e "${work}/${host}"
    done
}

# 1. Private-key modes, before any request.
audit_mark
refused mode_group.log 'okms_key_mode 0640 lets the group' -e okms_key_mode=0640
grep -q 'Set okms_key_mode_allow_group_read=true' "${work}/mode_group.log"
refused mode_others.log 'okms_key_mode 0644 lets others' -e okms_key_mode=0644 -e okms_key_mode_allow_group_read=true
refused mode_symbolic.log 'okms_key_mode u=rw can let others' -e okms_key_mode=u=rw
# An unquoted YAML 0640 reaches the role as the number 416.
refused mode_number.log 'okms_key_mode 0640 lets the group' -e '{"okms_key_mode": 416}'
refused mode_group_write.log 'okms_key_mode u=rw,g=rw,o= lets the group write' -e '{"okms_key_mode": "u=rw,g=rw,o="}' \
    -e okms_key_mode_allow_group_read=true
audit_check no_request

# 2. okms_service_keys, before any request: a typo in the second item, and an item without a name.
audit_mark
refused keys_typo.log \
    'okms_service_keys[1] (guard-ec): unknown option curv; allowed: name, type, size, curve, operations, context, key_state, deactivation_reason, state, force' \
    -e '{"okms_service_keys": [{"name": "guard-oct", "type": "oct"}, {"name": "guard-ec", "type": "EC", "curv": "P-384"}]}'
refused keys_no_name.log 'okms_service_keys[1] has no name: name is required' \
    -e '{"okms_service_keys": [{"name": "guard-oct", "type": "oct"}, {"type": "RSA"}]}'
refused keys_choice.log 'okms_service_keys[0] (guard-oct): type aes is not allowed; allowed: oct, RSA, EC' \
    -e '{"okms_service_keys": [{"name": "guard-oct", "type": "aes"}]}'
audit_check no_request

# 3. okms_id of a KMS named it-role-guards, with okms_instance_name another-name: every host fails
#    before any change (in check mode too); the KMS keeps its name and holds no key or credential.
run kms_create.log kms.yml -e okms_test_step=create
kms_id="$(cat "${work}/kms_id")"
audit_mark
refused rename.log "KMS ${kms_id} (okms_id) is named it-role-guards, not another-name (okms_instance_name)" \
    -e "okms_id=${kms_id}" -e okms_instance_name=another-name
refused rename_check.log "is named it-role-guards, not another-name" \
    -e "okms_id=${kms_id}" -e okms_instance_name=another-name --check
audit_check no_mutation
run kms_check.log kms.yml -e okms_test_step=check

# 4. With the KMS's own name, or no name, okms_id is accepted (check mode: nothing sent but reads).
audit_mark
run same_name.log bootstrap.yml --check -e "okms_id=${kms_id}" -e okms_instance_name=it-role-guards
run no_name.log bootstrap.yml --check -e "okms_id=${kms_id}" -e okms_instance_name=
audit_check no_mutation
