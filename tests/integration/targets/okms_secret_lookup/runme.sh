#!/usr/bin/env bash
# The okms_secret lookup through ansible-playbook, with its connection taken from the OVH_* environment
# variables (as an AWX credential injects them) and from ~/.ovh.conf, never from the play; then the
# collection README's Secrets example as written, twice. Every play runs at -vvvv --diff, and no value of the
# secrets (secrets.yml, and the password the README's example generates) may appear anywhere in that output.
set -eu
# Script targets get no roles path; setup_okms is a sibling target.
export ANSIBLE_ROLES_PATH=..
config="$(cd ../.. && pwd)/integration_config.yml"
work="${OUTPUT_DIR:?}/okms_secret_lookup"
rm -rf "${work}"
mkdir -p "${work}/home-env" "${work}/home-conf"
kms_id_path="${work}/kms_id"
# ansible-test runs a copy of the target; the README is in the collection Ansible uses.
collections="$(ansible-galaxy collection list ovhcloud.kms --format json \
    | python -c 'import json, sys; print(next(iter(json.load(sys.stdin))))')"
readme="${collections}/ovhcloud/kms/README.md"
# Nothing from the machine: no OVH_* variables, no ~/.ovh.conf of the person running the tests.
unset OVH_ENDPOINT OVH_APPLICATION_KEY OVH_APPLICATION_SECRET OVH_CONSUMER_KEY OVH_CLIENT_ID OVH_CLIENT_SECRET

setting() {
    python -c 'import json, sys; print(json.load(open(sys.argv[1]))["okms_emulator_" + sys.argv[2]])' "${config}" "$1"
}

play() {
    # play LOG PLAYBOOK ARGS...: ansible-playbook at -vvvv --diff, its whole output in LOG.
    local log="${work}/$1"
    shift
    if ! ansible-playbook -vvvv --diff -i "${INVENTORY_PATH}" -e "@${config}" -e "kms_id_path=${kms_id_path}" \
            -e "lookup_work_dir=${work}" "$@" > "${log}" 2>&1; then
        tail -n 100 "${log}"
        echo "${log##*/}: ansible-playbook failed (whole output: ${log})" >&2
        exit 1
    fi
    grep -q 'PLAY RECAP' "${log}"
}

cleanup() {
    local status=$?
    # An exit inside play() keeps the variables given to it.
    unset OVH_ENDPOINT OVH_CLIENT_ID OVH_CLIENT_SECRET REQUESTS_CA_BUNDLE
    if ! HOME="${work}/home-env" ansible-playbook -i "${INVENTORY_PATH}" -e "@${config}" \
            -e "kms_id_path=${kms_id_path}" cleanup.yml > "${work}/cleanup.log" 2>&1; then
        tail -n 40 "${work}/cleanup.log"
        echo "cleanup.yml failed" >&2
        status=1
    fi
    exit "${status}"
}
trap cleanup EXIT

# 1. The secrets, written by okms_secret (module options from module_defaults).
HOME="${work}/home-env" play setup.log setup.yml

# 2. The lookups with OAuth2 client credentials in OVH_* variables only.
HOME="${work}/home-env" OVH_ENDPOINT="$(setting endpoint)" OVH_CLIENT_ID="$(setting client_id)" \
    OVH_CLIENT_SECRET="$(setting client_secret)" REQUESTS_CA_BUNDLE="$(setting ca_path)" \
    play lookups-env.log lookups.yml

# 3. The same lookups with application-key credentials in ~/.ovh.conf only, and a refused request.
cat > "${work}/home-conf/.ovh.conf" <<EOF
[default]
endpoint=$(setting endpoint)

[$(setting endpoint)]
application_key=$(setting application_key)
application_secret=$(setting application_secret)
consumer_key=$(setting consumer_key)
EOF
chmod 0600 "${work}/home-conf/.ovh.conf"
HOME="${work}/home-conf" REQUESTS_CA_BUNDLE="$(setting ca_path)" play lookups-conf.log lookups.yml
HOME="${work}/home-conf" REQUESTS_CA_BUNDLE="$(setting ca_path)" play refused.log refused.yml

# 4. The README's example, exactly as it is written, with the connection in OVH_* variables as the README
#    says; only what this machine cannot have is overridden (the application's directory under /etc).
awk '/^### Secrets/ {section = 1} section && /^```yaml$/ {copy = 1; next} copy && /^```$/ {exit} copy' \
    "${readme}" > "${work}/readme_example.yml"
grep -q 'ovhcloud.kms.okms_secret:' "${work}/readme_example.yml"
grep -q "lookup('ovhcloud.kms.okms_secret'" "${work}/readme_example.yml"
mkdir -p "${work}/myapp"
for run in 1 2; do
    HOME="${work}/home-env" OVH_ENDPOINT="$(setting endpoint)" OVH_CLIENT_ID="$(setting client_id)" \
        OVH_CLIENT_SECRET="$(setting client_secret)" REQUESTS_CA_BUNDLE="$(setting ca_path)" \
        play "readme${run}.log" -i readme_inventory.yml -e "okms_id=$(cat "${kms_id_path}")" \
        -e "myapp_config_dir=${work}/myapp" "${work}/readme_example.yml"
done
grep -qE '^app1 +: .* changed=1 ' "${work}/readme1.log"
grep -qE '^localhost +: .* changed=1 ' "${work}/readme1.log"
grep -qE '^app1 +: .* changed=0 ' "${work}/readme2.log"
grep -qE '^localhost +: .* changed=0 ' "${work}/readme2.log"
test "$(stat -c %a "${work}/myapp/database.env")" = 600
grep -qx 'DB_USER=myapp' "${work}/myapp/database.env"
readme_password="$(sed -n 's/^DB_PASSWORD=//p' "${work}/myapp/database.env")"
test "${#readme_password}" = 32

# 5. No value of a secret in any of that output. The values are the strings of secrets.yml as the plays
#    render them (lookup_template's holds "{{": rendered once, as Ansible does).
python - secrets.yml > "${work}/values" <<'PYTHON'
import sys

import jinja2
import yaml

def strings(value):
    if isinstance(value, dict):
        for inner in value.values():
            yield from strings(inner)
    elif isinstance(value, str):
        yield jinja2.Template(value).render() if "{" in value else value

with open(sys.argv[1], encoding="utf-8") as handle:
    for value in strings(yaml.safe_load(handle)):
        if len(value) >= 8:
            print(value)
PYTHON
echo "${readme_password}" >> "${work}/values"
if [ "$(wc -l < "${work}/values")" -lt 8 ]; then
    echo "secrets.yml gave fewer values than it holds: $(wc -l < "${work}/values")" >&2
    exit 1
fi
logs=("${work}/setup.log" "${work}/lookups-env.log" "${work}/lookups-conf.log" "${work}/refused.log"
      "${work}/readme1.log" "${work}/readme2.log")
# The output is really -vvvv: module arguments are shown, with the values of data masked.
grep -q '"password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' "${work}/setup.log"
# The check would see a leak: it finds every value once the values are appended to a copy of the output.
cat "${logs[@]}" "${work}/values" > "${work}/control"
test "$(grep -c -F -f "${work}/values" "${work}/control")" -ge "$(wc -l < "${work}/values")"
if grep -n -F -f "${work}/values" "${logs[@]}"; then
    echo "a value of a secret appears in the -vvvv output (lines above)" >&2
    exit 1
fi
echo "$(cat "${logs[@]}" | wc -l) lines of -vvvv --diff output, none holding any of $(wc -l < "${work}/values") secret values"
