from pitline.cli import main

main()
