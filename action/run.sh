#!/usr/bin/env bash
# The action's one step: its inputs (INPUT_*) as a deployer command line.
# The CLI itself writes the step's outputs ($GITHUB_OUTPUT) and the job
# summary ($GITHUB_STEP_SUMMARY) when it follows an execution, and its exit
# code is the step's: 0 only if the deployment succeeded (or reached
# --until), 1 if it failed, 2 for a bad input.
set -euo pipefail

need() {
  if [ -z "${!1:-}" ]; then
    echo "::error title=ecr-deployer::input '${2}' is required for command '${INPUT_COMMAND}'"
    exit 2
  fi
}

args=()
case "${INPUT_COMMAND:-}" in
  promote)
    need INPUT_FROM from
    need INPUT_TO to
    args=(promote --repository "${INPUT_REPOSITORY:-app}" --from "$INPUT_FROM" --to "$INPUT_TO" --follow)
    ;;
  start)
    need INPUT_ENVIRONMENT environment
    args=(start "$INPUT_ENVIRONMENT" --follow)
    ;;
  follow)
    need INPUT_ENVIRONMENT environment
    args=(follow "$INPUT_ENVIRONMENT")
    ;;
  rollback)
    need INPUT_ENVIRONMENT environment
    need INPUT_REASON reason
    args=(rollback "$INPUT_ENVIRONMENT" --follow)
    ;;
  *)
    echo "::error title=ecr-deployer::input 'command' must be promote, start, follow or rollback, not '${INPUT_COMMAND:-}'"
    exit 2
    ;;
esac
if [ -n "${INPUT_UNTIL:-}" ] && [ "$INPUT_UNTIL" != deployed ]; then
  if [ "$INPUT_COMMAND" = rollback ]; then
    echo "::error title=ecr-deployer::input 'until' is not taken by rollback: it follows the rollback to its end"
    exit 2
  fi
  args+=(--until "$INPUT_UNTIL")
fi
if [ -n "${INPUT_REASON:-}" ] && [ "$INPUT_COMMAND" != follow ]; then
  args+=(--reason "$INPUT_REASON")
fi
args+=(--stack "${INPUT_STACK:-EcrDeployer}")

echo "deployer ${args[*]}"
exec "${DEPLOYER:-deployer}" "${args[@]}"
