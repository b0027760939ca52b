from sealer.cli.main import main

main()
