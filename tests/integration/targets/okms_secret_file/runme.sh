#!/usr/bin/env bash
# okms_secret_file through ansible-playbook at -vvvv --diff (main.yml: both identities, check mode, idempotence,
# formats, bad inputs, refusals); then the env file is read back by /bin/sh, and no value of a secret appears
# anywhere in the output.
set -eu
# Script targets get no roles path; setup_okms is a sibling target.
export ANSIBLE_ROLES_PATH=..
config="$(cd ../.. && pwd)/integration_config.yml"
work="${OUTPUT_DIR:?}/okms_secret_file"
rm -rf "${work}"
mkdir -p "${work}/files"
log="${work}/main.log"

if ! ansible-playbook -vvvv --diff -i "${INVENTORY_PATH}" -e "@${config}" -e "sf_work=${work}" main.yml \
        > "${log}" 2>&1; then
    tail -n 100 "${log}"
    echo "main.yml failed (whole output: ${log})" >&2
    exit 1
fi
grep -q 'PLAY RECAP' "${log}"

# What /bin/sh reads from the env file, compared with values.yml in Python: names only are printed.
# shellcheck disable=SC2016
sh -c 'set -a; . "$1"; set +a; exec "$2" "$3" "$4"' sh "${work}/files/db.env" python /dev/stdin values.yml <<'PYTHON'
import json
import os
import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as handle:
    data = yaml.safe_load(handle)["sf_db_v2"]
wrong = [name for name, value in sorted(data.items())
         if os.environ.get(name) != (value if isinstance(value, str) else
                                     json.dumps(value, sort_keys=True, separators=(",", ":")))]
if wrong:
    sys.exit("sh read these variables of db.env back wrong: %s" % ", ".join(wrong))
print("sh read back the %d variables of db.env exactly" % len(data))
PYTHON

# No value of a secret in the output: each holds an sfv- token.
grep -oE 'sfv-[a-z0-9-]+' values.yml | sort -u > "${work}/values"
test "$(wc -l < "${work}/values")" -ge 10
# The output is really -vvvv: module arguments are shown, with data masked.
grep -q '"DB_PASSWORD": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' "${log}"
# The check would see a leak: it finds every value once they are appended to a copy of the output.
cat "${log}" "${work}/values" > "${work}/control"
test "$(grep -c -F -f "${work}/values" "${work}/control")" -ge "$(wc -l < "${work}/values")"
if grep -n -F -f "${work}/values" "${log}"; then
    echo "a value of a secret appears in the -vvvv output (lines above)" >&2
    exit 1
fi
echo "$(wc -l < "${log}") lines of -vvvv --diff output, none holding any of $(wc -l < "${work}/values") secret values"
