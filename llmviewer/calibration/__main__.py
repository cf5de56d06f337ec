from .fitting import main

main()
