import sys

from stepcoder.cli import main

sys.exit(main())
