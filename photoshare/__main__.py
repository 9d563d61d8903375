from photoshare.cli import main

main()
