import sys

from cmshell.cli import main

sys.exit(main())
