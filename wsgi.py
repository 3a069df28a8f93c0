from supervise import create_app

app = create_app()
