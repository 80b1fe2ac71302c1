from gaib.cli.app import main

main()
