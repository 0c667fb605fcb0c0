#!/bin/bash
# libdw unwinding: exact stacks of every thread of the chain target.
UNWINDER=dw
. "$(dirname "$0")/dump-unwinder.sh"
