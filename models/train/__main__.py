from models.train.cli import main

main()
