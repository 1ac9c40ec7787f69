"""`python -m srcad.rules --markdown`: the supported functions, from the rule tables."""
import sys

from .catalog import main

sys.exit(main())
