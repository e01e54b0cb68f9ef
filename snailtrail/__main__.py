from snailtrail.cli import main

main()
