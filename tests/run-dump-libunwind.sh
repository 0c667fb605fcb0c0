#!/bin/bash
# libunwind unwinding: exact stacks of every thread of the chain target.
UNWINDER=libunwind
. "$(dirname "$0")/dump-unwinder.sh"
