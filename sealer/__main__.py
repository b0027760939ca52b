import sys

from sealer.cli.main import main

sys.exit(main())
