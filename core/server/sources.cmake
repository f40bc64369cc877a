# Sources of core/server: the reference Adama document server and its demo documents.
target_sources(deltascope_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/serverwire.h
    ${CMAKE_CURRENT_LIST_DIR}/serverwire.cpp
    ${CMAKE_CURRENT_LIST_DIR}/principal.h
    ${CMAKE_CURRENT_LIST_DIR}/principal.cpp
    ${CMAKE_CURRENT_LIST_DIR}/demodocument.h
    ${CMAKE_CURRENT_LIST_DIR}/demodocument.cpp
    ${CMAKE_CURRENT_LIST_DIR}/chatdocument.h
    ${CMAKE_CURRENT_LIST_DIR}/chatdocument.cpp
    ${CMAKE_CURRENT_LIST_DIR}/gamedocument.h
    ${CMAKE_CURRENT_LIST_DIR}/gamedocument.cpp
    ${CMAKE_CURRENT_LIST_DIR}/tickerdocument.h
    ${CMAKE_CURRENT_LIST_DIR}/tickerdocument.cpp
    ${CMAKE_CURRENT_LIST_DIR}/bigdocument.h
    ${CMAKE_CURRENT_LIST_DIR}/bigdocument.cpp
    ${CMAKE_CURRENT_LIST_DIR}/serverconnection.h
    ${CMAKE_CURRENT_LIST_DIR}/serverconnection.cpp
    ${CMAKE_CURRENT_LIST_DIR}/referenceserver.h
    ${CMAKE_CURRENT_LIST_DIR}/referenceserver.cpp
    ${CMAKE_CURRENT_LIST_DIR}/controlendpoint.h
    ${CMAKE_CURRENT_LIST_DIR}/controlendpoint.cpp
    ${CMAKE_CURRENT_LIST_DIR}/servercommandline.h
    ${CMAKE_CURRENT_LIST_DIR}/servercommandline.cpp
)
