from learncard.main import main

main()
