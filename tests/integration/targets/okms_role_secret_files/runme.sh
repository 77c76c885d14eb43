#!/usr/bin/env bash
# okms_secret_files, the role's secret files, with the example of the role README as written (its /etc/myapp
# becomes a directory per host): (1) bad items refused before any request, naming the item; (2) check mode
# before any certificate reads nothing and writes nothing; (3) the run writes every file on both hosts (one
# reads with okms.yaml, one with the certificate's files) and notifies the handler; (4) check mode and a
# re-run change nothing; (5) a new password rewrites the files of host1 and runs its handler, while host2,
# now an IAM user without a policy, is refused: it fails naming each file and the secret (check mode, before,
# reports the files of the new version as changes without reading them). Role runs are at
# -vvvv --diff, and no value of the secret appears in that output.
set -eu
export ANSIBLE_ROLES_PATH=..
setup="$(cd ../okms_role_setup && pwd)"
config="$(cd ../.. && pwd)/integration_config.yml"
# shellcheck source=../okms_role_setup/audit.sh
source "${setup}/audit.sh"
work="${OUTPUT_DIR:?}/okms_role_secret_files"
rm -rf "${work}"
mkdir -p "${work}/host1/myapp" "${work}/host2/myapp"
export OKMS_ROLE_WORK="${work}"
# ansible-test runs a copy of the target; the README is in the collection Ansible uses.
collections="$(ansible-galaxy collection list ovhcloud.kms --format json \
    | python -c 'import json, sys; print(next(iter(json.load(sys.stdin))))')"
readme="${collections}/ovhcloud/kms/roles/okms/README.md"

setting() {
    python -c 'import json, sys; print(json.load(open(sys.argv[1]))["okms_emulator_" + sys.argv[2]])' "${config}" "$1"
}

run() {
    # run LOG PLAYBOOK ARGS...: ansible-playbook with the emulator settings, its whole output in LOG.
    local log="${work}/$1"
    shift
    if ! ansible-playbook -i inventory.yml -e "@${config}" "$@" > "${log}" 2>&1; then
        tail -n 60 "${log}"
        echo "${log##*/}: ansible-playbook failed (whole output: ${log})" >&2
        return 1
    fi
}

role() {
    # role LOG ARGS...: the role with the README's example, at -vvvv --diff.
    local log="$1"
    shift
    run "${log}" bootstrap.yml -vvvv --diff -e "@${work}/readme_example.yml" "$@"
}

must_fail() {
    # must_fail LOG PLAYBOOK ARGS...: the run ends non-zero.
    if ansible-playbook -i inventory.yml -e "@${config}" "${@:2}" > "${work}/$1" 2>&1; then
        tail -n 60 "${work}/$1"
        echo "$1: the run succeeded, it must fail" >&2
        exit 1
    fi
}

recap() {
    # recap LOG changed|unchanged|failed|ok [HOST...]: what the PLAY RECAP line of each HOST (default: both) says.
    local log="$1" state="$2" host line hosts
    shift 2
    hosts=("$@")
    [ "$#" -gt 0 ] || hosts=(host1 host2)
    for host in "${hosts[@]}"; do
        line="$(grep -E "^${host} +:" "${work}/${log}")"
        case "${state}" in
            changed) grep -q ' failed=0 ' <<< "${line}" && ! grep -q ' changed=0 ' <<< "${line}" ;;
            unchanged) grep -q ' changed=0 .* failed=0 ' <<< "${line}" ;;
            failed) grep -q ' failed=1 ' <<< "${line}" ;;
        esac || { echo "${log}: ${host} is not ${state}: ${line}" >&2; exit 1; }
    done
}

fatal() {
    # fatal LOG HOST TEXT: the message of HOST's error (fatal: [HOST]: FAILED! => {...}) says TEXT.
    python - "${work}/$1" "$2" "$3" <<'PYTHON'
import json
import re
import sys

path, host, text = sys.argv[1:]
with open(path, encoding="utf-8") as handle:
    output = handle.read()
decoder = json.JSONDecoder()
messages = [decoder.raw_decode(output, match.end() - 1)[0].get("msg", "")
            for match in re.finditer(r"^fatal: \[%s\]: FAILED! => \{" % host, output, re.MULTILINE)]
if not any(text in message for message in messages):
    sys.exit("%s: the error of %s does not say: %s\n(it says: %s)" % (path, host, text, messages))
PYTHON
}

handlers() {
    # handlers LOG: the hosts whose "Restart myapp" handler ran, sorted, on one line.
    grep -oE 'myapp restarted on host[0-9]' "${work}/$1" | sed 's/.* //' | sort -u | xargs
}

files_hold() {
    # files_hold HOST PASSWORD: the three files of the README's example on HOST hold the secret, with that password.
    # The env file is read by /bin/sh; only what is wrong is printed, never a value.
    # shellcheck disable=SC2016
    sh -c 'set -a; . "$1"; set +a; exec python - "$2" "$3" "$4"' sh "${work}/$1/myapp/db.env" "${work}/$1" "$1" "$2" <<'PYTHON'
import os
import stat
import sys

directory, host, password = sys.argv[1:]
expected = {
    "db-password": password,
    "database.ini": "# %s: written by ovhcloud.kms.okms\n[database]\nuser = myapp\npassword = %s\n" % (host, password),
}
wrong = ["%s=%s" % (name, "ok" if os.environ.get(name) == value else "wrong")
         for name, value in (("DB_USER", "myapp"), ("DB_PASSWORD", password))]
for name, content in sorted(expected.items()):
    with open(os.path.join(directory, "myapp", name), encoding="utf-8") as handle:
        wrong.append("%s %s" % (name, "ok" if handle.read() == content else "wrong"))
for name in ("db.env", "db-password", "database.ini"):
    mode = stat.S_IMODE(os.stat(os.path.join(directory, "myapp", name)).st_mode)
    wrong.append("%s mode %s" % (name, "ok" if mode == 0o600 else "%04o" % mode))
if any(not entry.endswith("ok") for entry in wrong):
    sys.exit("the secret files of %s: %s" % (host, "; ".join(wrong)))
PYTHON
}

cleanup() {
    local status=$?
    run cleanup.log controller.yml -e okms_test_step=cleanup || status=1
    exit "${status}"
}
trap cleanup EXIT

# The README's example, exactly as it is written, but for /etc/myapp.
awk '/^## Secret files/ {section = 1} section && /^```yaml$/ {copy = 1; next} copy && /^```$/ {exit} copy' \
    "${readme}" > "${work}/readme_example.yml"
grep -q '^okms_secret_files:$' "${work}/readme_example.yml"
grep -q '^okms_secret_files_notify: Restart myapp$' "${work}/readme_example.yml"
sed -i "s#/etc/myapp/#${work}/{{ inventory_hostname }}/myapp/#" "${work}/readme_example.yml"
password_one="$(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["vault_myapp_db_password"])' vault.yml)"

# 1. Bad items, before any request: every problem of the list at once, each naming the item.
cat > "${work}/bad_items.yml" <<'EOF_BAD'
okms_secret_files:
  - {path: myapp/db, dest: /tmp/sfr-ok.json}
  - {dest: /tmp/sfr-a.json}
  - {path: myapp/db, dest: relative/db.json}
  - {path: myapp/db, dest: /tmp/sfr-ok.json}
  - {path: myapp/db, dest: /tmp/sfr-b, format: raw}
  - {path: myapp/db, dest: /tmp/sfr-c, field: DB_USER}
  - {path: myapp/db, dest: /tmp/sfr-d, format: env, template: "${DB_USER}"}
  - {path: myapp/db, dest: /tmp/sfr-e, format: yaml, version: 0, mod: "0600"}
EOF_BAD
audit_mark
must_fail bad.log bootstrap.yml -vvvv -e "@${work}/bad_items.yml"
recap bad.log failed
for host in host1 host2; do
    fatal bad.log "${host}" 'okms_secret_files[1] (no path -> /tmp/sfr-a.json): path (the secret) is required'
    fatal bad.log "${host}" 'okms_secret_files[2] (myapp/db -> relative/db.json): dest (the file on the host) is required, as an absolute path'
    fatal bad.log "${host}" 'okms_secret_files[3] (myapp/db -> /tmp/sfr-ok.json): the dest /tmp/sfr-ok.json is already given to an earlier item; give each file once'
    fatal bad.log "${host}" 'okms_secret_files[4] (myapp/db -> /tmp/sfr-b): format raw needs field (the field to write)'
    fatal bad.log "${host}" 'okms_secret_files[5] (myapp/db -> /tmp/sfr-c): field is only used with format raw'
    fatal bad.log "${host}" 'okms_secret_files[6] (myapp/db -> /tmp/sfr-d): format and template are mutually exclusive'
    fatal bad.log "${host}" 'okms_secret_files[7] (myapp/db -> /tmp/sfr-e): unknown option mod; allowed: path, dest, format, template, field, version, mode, owner, group'
    fatal bad.log "${host}" 'okms_secret_files[7] (myapp/db -> /tmp/sfr-e): format yaml is not allowed; allowed: json, env, raw'
    fatal bad.log "${host}" 'okms_secret_files[7] (myapp/db -> /tmp/sfr-e): version must be a version number, from 1'
done
audit_check no_request
test ! -e "${work}/host1/okms"

# 2. The KMS; then check mode before any certificate: no mutating request, no file; the secret files cannot be
#    read yet and are reported as changes, with their handler.
run kms.log controller.yml -e okms_test_step=kms
kms_id="$(cat "${work}/kms_id")"
audit_mark
role check1.log --check
recap check1.log changed
audit_check no_mutation
for host in host1 host2; do
    grep -qE "^changed: \[${host}\] => \(item=myapp/db -> .*/${host}/myapp/db\.env\)" "${work}/check1.log"
    grep -qF "${work}/${host}/myapp/database.ini would be written from secret myapp/db, read on a real run with the certificate it deploys first" "${work}/check1.log"
done
test "$(handlers check1.log)" = "host1 host2"
test ! -e "${work}/host1/okms" && test -z "$(ls "${work}/host1/myapp")"

# 3. The run: the secret in the KMS, every file on both hosts, and the handler of each.
role run1.log
recap run1.log changed
test "$(handlers run1.log)" = "host1 host2"
files_hold host1 "${password_one}"
files_hold host2 "${password_one}"
# --diff says which file changes, never its content.
grep -qF "<version 1 of secret 'myapp/db' of KMS ${kms_id}, as env: hidden>" "${work}/run1.log"

# 4. Check mode, then a re-run: nothing changes, no mutating request, no handler.
audit_mark
role check2.log --check
recap check2.log unchanged
audit_check no_mutation
role run2.log
recap run2.log unchanged
test -z "$(handlers run2.log)"

# 5. A new password in the vault; host2 becomes an IAM user that no policy lets read secrets.
# shellcheck disable=SC2016 # a $ of the password, which the env file must keep as it is
password_two='sfr-pass-two-b40a $y'
printf 'vault_myapp_db_password: "%s"\n' "${password_two}" > "${work}/vault2.yml"
#    Check mode first: the files whose secret the run writes are reported as changes, without reading them.
bob="okms_test_host2_urn=urn:v1:eu:identity:user:$(setting account)/sfr-bob"
audit_mark
role check3.log --check -e "@${work}/vault2.yml" -e "${bob}"
recap check3.log changed
audit_check no_mutation
grep -qF "${work}/host1/myapp/db.env would be written from secret myapp/db, read on a real run once okms_secrets has written it" "${work}/check3.log"
files_hold host1 "${password_one}"
must_fail run3.log bootstrap.yml -vvvv --diff -e "@${work}/readme_example.yml" -e "@${work}/vault2.yml" -e "${bob}"
recap run3.log changed host1
recap run3.log failed host2
test "$(handlers run3.log)" = "host1"
files_hold host1 "${password_two}"
files_hold host2 "${password_one}"
for file in db.env db-password database.ini; do
    fatal run3.log host2 "${work}/host2/myapp/${file}: the KMS refused to let this identity read secret 'myapp/db' of KMS ${kms_id}"
done
fatal run3.log host2 "This host's credential and files are deployed, but 3 of its 3 secret files could not be written"
fatal run3.log host2 'HTTP 403'

# 6. No value of the secret in the output of the role runs: each holds an sfr- token.
cat vault.yml "${work}/vault2.yml" | grep -oE 'sfr-pass-[a-z0-9-]+' | sort -u > "${work}/values"
test "$(wc -l < "${work}/values")" = 2
logs=("${work}"/bad.log "${work}"/check*.log "${work}"/run*.log)
grep -q '"DB_PASSWORD": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' "${work}/run1.log"
cat "${logs[@]}" "${work}/values" > "${work}/control"
test "$(grep -c -F -f "${work}/values" "${work}/control")" -ge 2
if grep -n -F -f "${work}/values" "${logs[@]}"; then
    echo "a value of the secret appears in the role's -vvvv output (lines above)" >&2
    exit 1
fi
echo "$(cat "${logs[@]}" | wc -l) lines of -vvvv --diff output of the role, none holding the secret"
