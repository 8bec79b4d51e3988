from hwdock.entry import main

main()
