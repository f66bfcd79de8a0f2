from funnelcli.entry import main

main()
