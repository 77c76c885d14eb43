#!/usr/bin/env bash
# The API connection reaches the role two ways: (a) only through a play-level module_defaults for
# group/ovhcloud.kms.okms (with validate_certs and timeout), (b) through okms_api_* variables, which
# win over that module_defaults for what they set. A callback records what every module received.
set -eux
export ANSIBLE_ROLES_PATH=..
setup="$(cd ../okms_role_setup && pwd)"
config="$(cd ../.. && pwd)/integration_config.yml"
work="${OUTPUT_DIR:?}/okms_role_module_defaults"
rm -rf "${work}"
mkdir -p "${work}/home"
export OKMS_ROLE_WORK="${work}"
# Nothing but the playbook configures the API: no OVH_* variables, no ~/.ovh.conf.
unset OVH_ENDPOINT OVH_APPLICATION_KEY OVH_APPLICATION_SECRET OVH_CONSUMER_KEY OVH_CLIENT_ID OVH_CLIENT_SECRET
export HOME="${work}/home"
export ANSIBLE_CALLBACK_PLUGINS="${setup}/callback_plugins"
export ANSIBLE_CALLBACKS_ENABLED=okms_module_args

run() {
    # run NAME ARGS...: output in NAME.log, module arguments in NAME.args.
    local name="$1"
    shift
    OKMS_MODULE_ARGS_LOG="${work}/${name}.args" ansible-playbook -i inventory.yml -e "@${config}" "$@" 2>&1 \
        | tee "${work}/${name}.log"
    return "${PIPESTATUS[0]}"
}

recap() {
    # recap NAME changed|unchanged
    grep -E '^host1 +:' "${work}/$1.log"
    if [ "$2" = changed ]; then
        grep -E '^host1 +:' "${work}/$1.log" | grep -vq 'changed=0 '
    else
        grep -E '^host1 +:' "${work}/$1.log" | grep -q 'changed=0 '
    fi
}

# (a) From nothing, then the same in check mode: nothing left to do.
run a1 play_module_defaults.yml
recap a1 changed
run a2 play_module_defaults.yml --check
recap a2 unchanged

# (b) The okms_api_* variables that are set win; the play's module_defaults fill in the rest.
run b1 play_role_vars.yml
recap b1 unchanged
run b2 play_role_vars.yml --check -e okms_api_validate_certs=true
recap b2 unchanged

# What each run's modules received: (a) the play's validate_certs and timeout, no CA; (b) the variables'
# timeout and CA, the play's validate_certs unless okms_api_validate_certs is set.
python - "${config}" "${work}" > "${work}/cases.json" <<'PYTHON'
import json
import sys

config, work = json.load(open(sys.argv[1])), sys.argv[2]
ca_path = config["okms_emulator_ca_path"]
cases = [("a1", 7, False, None), ("a2", 7, False, None), ("b1", 9, False, ca_path), ("b2", 9, True, ca_path)]
print(json.dumps({"okms_test_cases": [
    {"args_log": "%s/%s.args" % (work, name), "timeout": timeout, "validate_certs": validate, "ca_path": ca}
    for name, timeout, validate, ca in cases]}))
PYTHON
ansible-playbook -i inventory.yml -e "@${config}" -e "@${work}/cases.json" check_args.yml
