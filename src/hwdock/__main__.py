from hwdock.cli import main

main()
