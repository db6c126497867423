from jobnaut.cli.main import main

main()
